"""graphite-web's functions over a real store, index and engine, against values worked by hand.

Every series below has a point every 10 s at T0+10 ... T0+50; a request from T0 to T0+50
reads them all (graphite starts with the first window after `from`).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import trio

from cyanite_py.api.functions import FUNCTIONS, Context, InputError, RenderSeries, evaluate
from cyanite_py.api.functions.render import fit_points, to_json
from cyanite_py.api.target import parse
from cyanite_py.counters import Registry
from cyanite_py.engine import DriftConfig, Engine, EngineConfig
from cyanite_py.index.memory import MemoryIndex, MemoryIndexConfig
from cyanite_py.model import PointBatch, Resolution
from cyanite_py.query import Reader
from cyanite_py.store.memory import MemoryStore, MemoryStoreConfig
from tests.builders import Snapshot, batch_of

NOW = 1_700_000_000 - 1_700_000_000 % 3600
T0 = NOW - 3600
N = None
FINE = Resolution(10, 7 * 86400)
COARSE = Resolution(20, 7 * 86400)


class World:
    """A reader over a memory store, a memory index and an engine, with a fixed clock."""

    def __init__(self) -> None:
        registry = Registry()
        self.store = MemoryStore(MemoryStoreConfig(), registry, clock=lambda: NOW)
        self.index = MemoryIndex(MemoryIndexConfig(), registry)
        _, receive = trio.open_memory_channel[PointBatch](1)
        self.engine = Engine(
            EngineConfig(rules={"^m\\.": [COARSE], "default": [FINE]}),
            DriftConfig(),
            receive,
            self.store.write,
            self.index.add,
            registry,
            clock=lambda: NOW,
        )
        self.reader = Reader(self.store, self.index, self.engine, clock=lambda: NOW)

    async def put(
        self,
        path: str,
        values: list[float | None],
        start: int = T0,
        resolution: Resolution = FINE,
    ) -> None:
        """`values[i]` as the window at `start + (i + 1) * precision`; None writes nothing."""
        batch = batch_of(
            (
                Snapshot(
                    path,
                    resolution.precision,
                    resolution.period,
                    start + (index + 1) * resolution.precision,
                    1,
                    value,
                    value,
                    value,
                )
                for index, value in enumerate(values)
                if value is not None
            ),
            [path],
        )
        await self.store.write(batch)
        self.index.add([path])

    def context(self, start: int = T0, end: int = T0 + 50, xff: float = 0.0) -> Context:
        return Context(self.reader, start, end, NOW, FUNCTIONS, x_files_factor=xff)

    async def render(
        self, target: str, start: int = T0, end: int = T0 + 50, xff: float = 0.0
    ) -> list[RenderSeries]:
        return await evaluate(parse(target), self.context(start, end, xff))


@pytest.fixture
async def world() -> World:
    world = World()
    await world.put("a.b1", [1, 2, 3, 4, 5])
    await world.put("a.b2", [10, N, 30, 40, N])
    await world.put("c.counter", [1, 5, 2, 8, N])
    await world.put("z.div", [2, 0, 3, N, 5])
    await world.put("k.gappy", [1, N, N, 4, N])
    await world.put("g.h1.x", [1, 2, 3, 4, 5])
    await world.put("g.h1.y", [10, 20, 30, 40, 50])
    await world.put("g.h2.x", [7, 7, 7, 7, 7])
    await world.put("s.x", [7, 8, 9, 10, 11], start=T0 - 3600)
    await world.put("m.coarse", [100, 200], resolution=COARSE)
    return world


def values(series: RenderSeries) -> list[float | None]:
    return [None if math.isnan(v) else v for v in series.values.tolist()]


def named(result: list[RenderSeries]) -> dict[str, list[float | None]]:
    return {series.name: values(series) for series in result}


async def test_fetch_aligns_like_graphite(world: World) -> None:
    (series,) = await world.render("a.b1")
    assert (series.name, series.path_expression, series.tags) == ("a.b1", "a.b1", {"name": "a.b1"})
    assert (series.start, series.end, series.step) == (T0 + 10, T0 + 60, 10)
    assert values(series) == [1, 2, 3, 4, 5]


async def test_unknown_paths_yield_nothing(world: World) -> None:
    assert await world.render("no.such.path") == []
    assert await world.render("sumSeries(no.*)") == []


async def test_sum_series(world: World) -> None:
    (series,) = await world.render("sumSeries(a.b{1,2})")
    assert series.name == "sumSeries(a.b{1,2})"
    assert series.tags == {"name": "sumSeries(a.b{1,2})", "aggregatedBy": "sum"}
    assert values(series) == [11, 2, 33, 44, 5]


async def test_average_min_max_series(world: World) -> None:
    assert named(await world.render("averageSeries(a.b1, a.b2)")) == {
        "averageSeries(a.b1,a.b2)": [5.5, 2, 16.5, 22, 5]
    }
    assert named(await world.render("minSeries(a.*)")) == {"minSeries(a.*)": [1, 2, 3, 4, 5]}
    assert named(await world.render("maxSeries(a.*)")) == {"maxSeries(a.*)": [10, 2, 30, 40, 5]}


async def test_diff_series_takes_the_first_present_value(world: World) -> None:
    assert named(await world.render("diffSeries(a.b2, a.b1)")) == {
        "diffSeries(a.b2,a.b1)": [9, 2, 27, 36, 5]
    }


async def test_multiply_series_is_none_where_a_factor_is(world: World) -> None:
    assert named(await world.render("multiplySeries(a.b1, a.b2)")) == {
        "multiplySeries(a.b1,a.b2)": [10, N, 90, 160, N]
    }
    assert named(await world.render("multiplySeries(a.b1)")) == {"a.b1": [1, 2, 3, 4, 5]}


async def test_count_series(world: World) -> None:
    assert named(await world.render("countSeries(g.*.*)")) == {"countSeries(g.*.*)": [3] * 5}
    (empty,) = await world.render("countSeries()")
    assert (empty.name, empty.path_expression, values(empty)) == ("0", "countSeries()", [0] * 3)


async def test_divide_series_is_none_for_zero_and_missing(world: World) -> None:
    assert named(await world.render("divideSeries(a.b1, z.div)")) == {
        "divideSeries(a.b1,z.div)": [0.5, N, 1, N, 1]
    }
    assert named(await world.render("divideSeries(a.b1, no.such)")) == {
        "divideSeries(a.b1,MISSING)": [N] * 5
    }
    with pytest.raises(InputError, match="exactly 1 series"):
        await world.render("divideSeries(a.b1, a.*)")


async def test_steps_are_normalised_to_their_least_common_multiple(world: World) -> None:
    (series,) = await world.render("sumSeries(a.b1, m.coarse)")
    # a.b1 averaged in pairs to 20 s: 1.5, 3.5, 5; m.coarse holds 100, 200
    assert (series.start, series.end, series.step) == (T0 + 10, T0 + 50, 20)
    assert values(series) == [101.5, 203.5, 5]


async def test_x_files_factor_drops_sparse_points(world: World) -> None:
    assert named(await world.render("averageSeries(a.b1, a.b2)", xff=0.6)) == {
        "averageSeries(a.b1,a.b2)": [5.5, N, 16.5, 22, N]
    }


async def test_scale_offset_absolute(world: World) -> None:
    (scaled,) = await world.render("scale(a.b1, 2)")
    assert (scaled.name, scaled.path_expression) == ("scale(a.b1,2)", "scale(a.b1,2)")
    assert scaled.tags == {"name": "a.b1", "scale": "2.0"}  # a float parameter, as graphite
    assert values(scaled) == [2, 4, 6, 8, 10]
    assert named(await world.render("offset(a.b2, -5)")) == {"offset(a.b2,-5)": [5, N, 25, 35, N]}
    assert named(await world.render("absolute(offset(a.b1, -3.5))")) == {
        "absolute(offset(a.b1,-3.5))": [2.5, 1.5, 0.5, 0.5, 1.5]
    }


async def test_derivatives(world: World) -> None:
    assert named(await world.render("derivative(a.b2)")) == {"derivative(a.b2)": [N, N, N, 10, N]}
    assert named(await world.render("nonNegativeDerivative(c.counter)")) == {
        "nonNegativeDerivative(c.counter)": [N, 4, N, 6, N]
    }
    # 5 -> 2 wrapped past 10: 10 + 1 + 2 - 5
    assert named(await world.render("nonNegativeDerivative(c.counter, 10)")) == {
        "nonNegativeDerivative(c.counter)": [N, 4, 8, 6, N]
    }
    # 8 is above maxValue=6: no value, and not the previous one either
    assert values((await world.render("nonNegativeDerivative(c.counter, maxValue=6)"))[0]) == [
        N,
        4,
        4,
        N,
        N,
    ]
    assert named(await world.render("perSecond(c.counter)")) == {
        "perSecond(c.counter)": [N, 0.4, N, 0.6, N]
    }


async def test_integral(world: World) -> None:
    assert named(await world.render("integral(a.b2)")) == {"integral(a.b2)": [10, N, 40, 80, N]}


async def test_moving_average_reads_the_window_before_the_range(world: World) -> None:
    await world.put("a.b1", [0, 0, 0, 9], start=T0 - 40)  # T0-30 ... T0: 0, 0, 0, 9
    (points,) = await world.render("movingAverage(a.b1, 2)")
    assert points.name == "movingAverage(a.b1,2)"
    assert (points.start, points.step) == (T0 + 10, 10)
    assert points.tags == {"name": "a.b1", "movingAverage": "2"}
    # each point averages the two ending at it: (9+1)/2, (1+2)/2, (2+3)/2, ...
    assert values(points) == [5, 1.5, 2.5, 3.5, 4.5]
    (timed,) = await world.render("movingAverage(a.b1, '20s')")
    assert timed.name == 'movingAverage(a.b1,"20s")'
    assert values(timed) == [5, 1.5, 2.5, 3.5, 4.5]
    (same,) = await world.render("movingAverage(a.b1, 1)")
    assert values(same) == [1, 2, 3, 4, 5]
    (sparse,) = await world.render("movingAverage(a.b2, 2, 1)")
    assert values(sparse) == [N, N, N, 35, N]  # only (30 + 40) / 2 has both points


async def test_summarize(world: World) -> None:
    (summed,) = await world.render("summarize(a.b1, '20s')")
    assert summed.name == 'summarize(a.b1, "20s", "sum")'
    assert (summed.start, summed.end, summed.step) == (T0, T0 + 80, 20)
    assert values(summed) == [1, 5, 9, N]
    (aligned,) = await world.render("summarize(a.b1, '20s', 'max', true)")
    assert aligned.name == 'summarize(a.b1, "20s", "max", true)'
    assert (aligned.start, aligned.end) == (T0 + 10, T0 + 70)
    assert values(aligned) == [2, 4, 5]


async def test_time_shift_fetches_the_earlier_range(world: World) -> None:
    (shifted,) = await world.render("timeShift(s.x, '1h')")
    assert shifted.name == 'timeShift(s.x, "-1h")'
    assert shifted.path_expression == "s.x"
    assert (shifted.start, shifted.end) == (T0 + 10, T0 + 60)
    assert values(shifted) == [7, 8, 9, 10, 11]
    assert await world.render("timeShift(s.x, '+1h')") != []


async def test_consolidate_by(world: World) -> None:
    (series,) = await world.render("consolidateBy(a.b1, 'max')")
    assert (series.name, series.consolidation_func) == ('consolidateBy(a.b1,"max")', "max")
    with pytest.raises(InputError, match="consolidationFunc"):
        await world.render("consolidateBy(a.b1, 'median')")


async def test_group_by_node_and_nodes(world: World) -> None:
    assert named(await world.render("groupByNode(g.*.*, 1, 'sumSeries')")) == {
        "h1": [11, 22, 33, 44, 55],
        "h2": [7] * 5,
    }
    assert named(await world.render("groupByNode(g.*.*, 1)")) == {
        "h1": [5.5, 11, 16.5, 22, 27.5],
        "h2": [7] * 5,
    }
    assert named(await world.render("groupByNodes(g.*.*, 'max', 2)")) == {
        "x": [7, 7, 7, 7, 7],
        "y": [10, 20, 30, 40, 50],
    }


async def test_highest_lowest_limit_sort(world: World) -> None:
    assert list(named(await world.render("highestCurrent(a.*, 1)"))) == ["a.b2"]
    assert list(named(await world.render("highestMax(g.*.*, 2)"))) == ["g.h1.y", "g.h2.x"]
    assert list(named(await world.render("lowestCurrent(a.*, 1)"))) == ["a.b1"]
    assert list(named(await world.render("limit(g.*.*, 2)"))) == ["g.h1.x", "g.h1.y"]
    assert list(named(await world.render("sortByName(g.*.*, reverse=true)"))) == [
        "g.h2.x",
        "g.h1.y",
        "g.h1.x",
    ]


async def test_transform_null(world: World) -> None:
    assert named(await world.render("transformNull(a.b2)")) == {
        "transformNull(a.b2,0)": [10, 0, 30, 40, 0]
    }
    assert named(await world.render("transformNull(a.b2, -1, k.gappy)")) == {
        "transformNull(a.b2,-1,referenceSeries)": [10, N, 30, 40, N]
    }


async def test_keep_last_value(world: World) -> None:
    assert named(await world.render("keepLastValue(a.b2)")) == {
        "keepLastValue(a.b2)": [10, 10, 30, 40, 40]
    }
    # a gap of two is longer than the limit of one and stays; the trailing gap of one is filled
    assert values((await world.render("keepLastValue(k.gappy, 1)"))[0]) == [1, N, N, 4, 4]


async def test_remove_below_and_above_value(world: World) -> None:
    assert named(await world.render("removeBelowValue(a.b1, 3)")) == {
        "removeBelowValue(a.b1, 3)": [N, N, 3, 4, 5]
    }
    assert named(await world.render("removeAboveValue(a.b1, 3)")) == {
        "removeAboveValue(a.b1, 3)": [1, 2, 3, N, N]
    }


async def test_as_percent(world: World) -> None:
    result = named(await world.render("asPercent(a.b1, 10)"))
    assert result == {"asPercent(a.b1,10)": [10, 20, 30, 40, 50]}
    result = named(await world.render("asPercent(g.h1.x, g.h1.y)"))
    assert result == {"asPercent(g.h1.x,g.h1.y)": [10, 10, 10, 10, 10]}
    result = named(await world.render("asPercent(g.h1.*)"))
    assert list(result) == [
        "asPercent(g.h1.x,sumSeries(g.h1.*))",
        "asPercent(g.h1.y,sumSeries(g.h1.*))",
    ]
    assert result["asPercent(g.h1.x,sumSeries(g.h1.*))"] == pytest.approx([100 / 11] * 5)
    by_node = named(await world.render("asPercent(g.*.*, None, 1)"))
    assert by_node["asPercent(g.h2.x,g.h2.x)"] == [100] * 5
    assert by_node["asPercent(g.h1.y,sumSeries(g.*.*))"] == pytest.approx([1000 / 11] * 5)


async def test_exclude_and_grep(world: World) -> None:
    assert list(named(await world.render("exclude(g.*.*, 'h1')"))) == ["g.h2.x"]
    assert list(named(await world.render("grep(g.*.*, 'x$')"))) == ["g.h1.x", "g.h2.x"]
    with pytest.raises(InputError, match="regular expression"):
        await world.render("grep(g.*.*, '(')")


async def test_aliases(world: World) -> None:
    (aliased,) = await world.render("alias(a.b1, 'first')")
    assert (aliased.name, aliased.path_expression) == ("first", "a.b1")
    assert list(named(await world.render("aliasByNode(g.*.*, 1, -1)"))) == [
        "h1.x",
        "h1.y",
        "h2.x",
    ]
    assert list(named(await world.render("aliasByNode(scale(g.h1.x, 2), 2)"))) == ["x"]
    assert list(named(await world.render("aliasSub(a.b1, '(^.*$)', '\\1 A')"))) == ["a.b1 A"]
    assert list(named(await world.render("aliasSub(a.*, 'b(\\d)', 'node\\1')"))) == [
        "a.node1",
        "a.node2",
    ]


async def test_constant_line_spans_the_request(world: World) -> None:
    (line,) = await world.render("constantLine(100)", start=T0, end=T0 + 600)
    assert (line.name, line.path_expression) == ("100.0", "constantLine(100.0)")
    assert (line.start, line.end, line.step) == (T0, T0 + 600, 300)
    assert values(line) == [100, 100, 100]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("nosuchFunction(a.b1)", "unknown function 'nosuchFunction'"),
        ("scale(a.b1, 'x')", 'parameter "factor" of function "scale"'),
        ("scale(a.b1)", 'missing parameter "factor"'),
        ("scale(a.b1, 2, 3)", "too many arguments"),
        ("scale(a.b1, fctr=2)", "unknown parameter 'fctr'"),
        ("scale(1, 2)", 'parameter "seriesList" of function "scale" takes series'),
        ("summarize(a.b1, 'zz')", 'parameter "intervalString"'),
        ("groupByNode(a.*, 1, 'nope')", 'parameter "callback"'),
        ("limit(a.*, 1.5)", 'parameter "n"'),
    ],
)
async def test_bad_calls_name_the_function_and_parameter(
    world: World, target: str, message: str
) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        await world.render(target)


def _series(start: int, values: list[float], step: int = 10) -> RenderSeries:
    array = np.array(values, dtype=np.float64)
    return RenderSeries("s", "s", start, start + step * len(values), step, array)


def test_max_data_points_buckets_stay_on_their_grid() -> None:
    # v(t) = t / 10, read at two moments 10 s apart, shown in at most 3 points
    earlier = fit_points([_series(1000, [100 + i for i in range(10)])], 3)[0]
    later = fit_points([_series(1010, [101 + i for i in range(10)])], 3)[0]
    assert earlier.values_per_point == later.values_per_point == 4
    assert (earlier.start, values(earlier)) == (1000, [101.5, 105.5, 108.5])
    assert (later.start, values(later)) == (1040, [105.5, 109])


def test_max_data_points_uses_the_consolidation_function() -> None:
    series = _series(990, [1, 5, 2, math.nan, math.nan, math.nan])
    series.consolidation_func = "max"
    (fitted,) = fit_points([series], 2)
    assert (fitted.start, values(fitted)) == (990, [5, N])
    (whole,) = fit_points([series], 1)
    assert (whole.start, values(whole)) == (990, [5])


def test_json_writes_nulls_and_infinities_as_graphite_does() -> None:
    series = _series(1000, [1.5, math.nan, math.inf, -math.inf])
    assert to_json([series], None, no_null_points=False) == (
        b'[{"target":"s","tags":{"name":"s"},"datapoints":'
        b"[[1.5,1000],[null,1010],[1e9999,1020],[-1e9999,1030]]}]"
    )
    assert to_json([series], None, no_null_points=True) == (
        b'[{"target":"s","tags":{"name":"s"},"datapoints":'
        b"[[1.5,1000],[1e9999,1020],[-1e9999,1030]]}]"
    )
