"""graphite-web's per-point, moving-window, bucket and display functions, worked by hand.

The data are tests.test_functions' world (points every 10 s at T0+10 ... T0+50):
a.b1 1..5, a.b2 10,None,30,40,None, z.div 2,0,3,None,5, g.h1.x 1..5, g.h1.y 10..50;
s.x holds 7..11 an hour earlier.
"""

from __future__ import annotations

import math

import pytest

from cyanite_py.api.functions import FUNCTIONS, Context, InputError, RenderSeries, evaluate
from cyanite_py.api.limits import Budget, LimitExceeded
from cyanite_py.api.target import parse
from tests.test_functions import NOW, T0, N, World, named, values, world

__all__ = ["world"]


async def test_moving_windows_end_at_each_point(world: World) -> None:
    # nothing before T0, so the first window holds a.b1's first point alone
    assert named(await world.render("movingSum(a.b1, 2)")) == {"movingSum(a.b1,2)": [1, 3, 5, 7, 9]}
    assert named(await world.render("movingMax(a.b2, 2)")) == {
        "movingMax(a.b2,2)": [10, 10, 30, 40, 40]
    }
    assert named(await world.render("movingMin(a.b2, '20s')")) == {
        'movingMin(a.b2,"20s")': [10, 10, 30, 30, 40]
    }
    assert named(await world.render("movingMedian(a.b1, 3)")) == {
        "movingMedian(a.b1,3)": [1, 1.5, 2, 3, 4]
    }
    (last,) = await world.render("movingWindow(a.b2, 2, 'last')")
    assert (last.name, last.tags) == ("movingLast(a.b2,2)", {"name": "a.b2", "movingLast": "2"})
    assert values(last) == [10, 10, 30, 40, 40]
    # with xFilesFactor 1 a window needs both its points
    assert values((await world.render("movingWindow(a.b2, 2, 'sum', 1)"))[0]) == [N, N, N, 70, N]


async def test_exponential_moving_average(world: World) -> None:
    # the 2-point window before T0+10 is empty, so the average starts at 0;
    # then ema = 2/3 * v + 1/3 * ema at each point
    (ema,) = await world.render("exponentialMovingAverage(a.b1, 2)")
    assert ema.name == "exponentialMovingAverage(a.b1,2)"
    assert (ema.start, ema.step) == (T0 + 10, 10)
    assert values(ema) == [0.666667, 1.555556, 2.518519, 3.506173, 4.502058]
    (gappy,) = await world.render("exponentialMovingAverage(a.b2, '20s')")
    assert gappy.name == 'exponentialMovingAverage(a.b2,"20s")'
    # a window given as a time takes its constant from the seconds: 2 / (20 + 1)
    assert values(gappy) == [0.952381, N, 3.718821, 7.174171, N]


async def test_a_window_charges_its_cells(world: World) -> None:
    """A sliding window lays out points x window cells; running sums do not."""

    async def render(target: str) -> list[RenderSeries]:
        ctx = Context(world.reader, T0, T0 + 50, NOW, FUNCTIONS, budget=Budget(100))
        return await evaluate(parse(target), ctx)

    assert len(await render("movingAverage(a.b1, 30)")) == 1
    with pytest.raises(LimitExceeded, match="moving window of 30 points"):
        await render("movingMax(a.b1, 30)")


async def test_scale_to_seconds_delay_and_powers(world: World) -> None:
    assert named(await world.render("scaleToSeconds(a.b1, 1)")) == {
        "scaleToSeconds(a.b1,1)": [0.1, 0.2, 0.3, 0.4, 0.5]
    }
    assert named(await world.render("delay(a.b1, 2)")) == {"delay(a.b1,2)": [N, N, 1, 2, 3]}
    assert named(await world.render("delay(a.b1, -2)")) == {"delay(a.b1,-2)": [3, 4, 5, N, N]}
    assert values((await world.render("delay(a.b1, 9)"))[0]) == [N] * 5
    assert named(await world.render("pow(a.b1, 2)")) == {"pow(a.b1,2)": [1, 4, 9, 16, 25]}
    roots = values((await world.render("squareRoot(offset(a.b1, -2))"))[0])
    assert roots == pytest.approx([N, 0, 1, math.sqrt(2), math.sqrt(3)])
    assert values((await world.render("invert(z.div)"))[0]) == pytest.approx(
        [0.5, N, 1 / 3, N, 0.2]
    )
    assert named(await world.render("isNonNull(a.b2)")) == {"isNonNull(a.b2)": [1, 0, 1, 1, 0]}
    assert named(await world.render("offsetToZero(g.h1.y)")) == {
        "offsetToZero(g.h1.y)": [0, 10, 20, 30, 40]
    }


async def test_n_percentile_draws_a_line(world: World) -> None:
    # a.b2's values 10, 30, 40: rank 50% of 4 = 2nd
    (line,) = await world.render("nPercentile(a.b2, 50)")
    assert (line.name, line.tags) == (
        "nPercentile(a.b2, 50)",
        {"name": "a.b2", "nPercentile": "50.0"},
    )
    assert values(line) == [30] * 5
    assert await world.render("nPercentile(s.x, 50)") == []


async def test_time_slice_keeps_the_points_between(world: World) -> None:
    (sliced,) = await world.render(f"timeSlice(a.b1, {T0 + 20}, {T0 + 40})")
    assert sliced.name == f"timeSlice(a.b1, {T0 + 20}, {T0 + 40})"
    assert values(sliced) == [N, 2, 3, 4, N]
    with pytest.raises(InputError, match="timeSlice"):
        await world.render("timeSlice(a.b1, 'nonsense')")


async def test_hitcount_shares_points_between_buckets(world: World) -> None:
    # buckets end with the series (T0+60): 20 s buckets from T0 hold 1x10, 2x10+3x10, ...
    (hits,) = await world.render("hitcount(a.b1, '20s')")
    assert hits.name == 'hitcount(a.b1, "20s")'
    assert (hits.start, hits.step) == (T0, 20)
    assert values(hits) == [10, 50, 90]
    assert values((await world.render("hitcount(a.b2, '20s')"))[0]) == [100, 300, 400]
    # 15 s buckets from T0: a 10 s point is split by the seconds it spends in each
    assert values((await world.render("hitcount(a.b1, '15s')"))[0]) == [5, 25, 50, 70]


async def test_time_stack_draws_earlier_ranges_here(world: World) -> None:
    (stacked,) = await world.render("timeStack(s.x, '1h', 1, 2)")
    assert stacked.name == "timeShift(s.x, -1h, 1)"
    assert stacked.tags == {"name": "s.x", "timeShiftUnit": "-1h", "timeShift": "1"}
    assert (stacked.start, values(stacked)) == (T0 + 10, [7, 8, 9, 10, 11])
    assert len(await world.render("timeStack(s.x, '1h', 0, 3)")) == 3


async def test_display_functions_pass_series_through(world: World) -> None:
    for target in ("color(a.b1, 'red')", "alpha(a.b1, 0.5)", "lineWidth(a.b1, 2)"):
        assert named(await world.render(target)) == {"a.b1": [1, 2, 3, 4, 5]}
    assert list(named(await world.render("dashed(a.b1)"))) == ["dashed(a.b1, 5)"]
    assert list(named(await world.render("secondYAxis(a.b1)"))) == ["secondYAxis(a.b1)"]
    assert list(named(await world.render("drawAsInfinite(a.b1)"))) == ["drawAsInfinite(a.b1)"]
    assert named(await world.render("stacked(g.h1.*)")) == {
        "stacked(g.h1.x)": [1, 2, 3, 4, 5],
        "stacked(g.h1.y)": [11, 22, 33, 44, 55],
    }
    # a named stack keeps the names; None stays None and adds nothing
    assert named(await world.render("stacked(a.*, 's')")) == {
        "a.b1": [1, 2, 3, 4, 5],
        "a.b2": [11, N, 33, 44, N],
    }


async def test_legends(world: World) -> None:
    assert list(named(await world.render("cactiStyle(g.h1.*)"))) == [
        "g.h1.x Current:5.00     Max:5.00     Min:1.00     ",
        "g.h1.y Current:50.00    Max:50.00    Min:10.00    ",
    ]
    assert list(named(await world.render("legendValue(a.b1, 'avg', 'last')"))) == [
        "a.b1 (avg: 3.0) (last: 5.0)"
    ]
    # offered, but graphite-web finds no aggregation under the Series names
    assert list(named(await world.render("legendValue(a.b1, 'lastSeries')"))) == [
        "a.b1 (lastSeries: (?))"
    ]
    # a unit system not last is not an aggregation
    assert list(named(await world.render("legendValue(a.b1, 'si', 'max')"))) == [
        "a.b1 (si: (?)) (max: 5.0)"
    ]
    assert list(named(await world.render("legendValue(g.h1.y, 'sum', 'si')"))) == [
        "g.h1.y              sum  150.00    "
    ]


async def test_names_cut_from_paths(world: World) -> None:
    assert [s.name for s in await world.render("aliasByMetric(g.*.*)")] == ["x", "y", "x"]
    assert list(named(await world.render("aliasByMetric(scale(g.h1.x, 2))"))) == ["x"]
    assert list(named(await world.render("substr(scale(g.h1.x, 2), 1)"))) == ["h1.x"]
    assert list(named(await world.render("substr(g.h1.x, 0, 2)"))) == ["g.h1"]
    assert list(named(await world.render("upper(a.b1)"))) == ["A.B1"]
    assert list(named(await world.render("upper(a.b1, 0, -1)"))) == ["A.b1"]
    assert list(named(await world.render("lower(upper(a.b1), 2)"))) == ["A.b1"]


async def test_float_arguments_print_as_floats(world: World) -> None:
    """graphite-web reads a float parameter as a float: `42` names a line `42.0`."""
    (line,) = await world.render("constantLine(42)")
    assert (line.name, line.path_expression) == ("42.0", "constantLine(42.0)")
    (offset,) = await world.render("offset(a.b1, 1)")
    assert (offset.name, offset.tags["offset"]) == ("offset(a.b1,1)", "1.0")
    (null,) = await world.render("transformNull(a.b2, 0)")
    assert (null.name, null.tags["transformNull"]) == ("transformNull(a.b2,0)", "0.0")
    (default,) = await world.render("transformNull(a.b2)")
    assert default.tags["transformNull"] == "0"  # the default is not read as an argument


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("movingWindow(a.b1, 2, 'nope')", 'parameter "func" of function "movingWindow"'),
        ("movingSum(a.b1, 'zz')", 'parameter "windowSize" of function "movingSum"'),
        ("movingSum(a.b1, -2)", 'parameter "windowSize" of function "movingSum" must be'),
        ("movingWindow(a.b1, -2)", 'parameter "windowSize" of function "movingWindow" must'),
        ("exponentialMovingAverage(a.b1, 0)", '"windowSize" of function "exponentialMovingAv'),
        ("legendValue(a.b1, None)", 'parameter "valuesTypes" of function "legendValue"'),
        ("delay(a.b1, 1.5)", 'parameter "steps" of function "delay"'),
        ("hitcount(a.b1, 'zz')", 'parameter "intervalString" of function "hitcount"'),
        ("nPercentile(a.b1, 0)", "nPercentile"),
        ("cactiStyle(a.b1, 'metric')", 'parameter "system" of function "cactiStyle"'),
        ("timeStack(a.b1, '1d', 'x')", 'parameter "timeShiftStart"'),
    ],
)
async def test_bad_arguments_name_the_function_and_parameter(
    world: World, target: str, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        await world.render(target)


async def test_stacks_carry_across_the_request(world: World) -> None:
    """As graphite-web: a stack named in two targets of one request keeps adding up."""
    ctx = world.context()
    first = await evaluate(parse("stacked(a.b1)"), ctx)
    second = await evaluate(parse("stacked(g.h2.x)"), ctx)
    other = await evaluate(parse("stacked(g.h2.x, 'other')"), ctx)
    assert [values(s) for s in (*first, *second, *other)] == [
        [1, 2, 3, 4, 5],
        [8, 9, 10, 11, 12],
        [7] * 5,
    ]
