"""Aggregation per rule: the aggregate parsed once, rules that name their aggregation and
xFilesFactor, windows that keep their last point, and reads and roll-ups that use them.

Real engine, memory store, memory index and reader, on a settable clock; every expected
value is worked out by hand in the comments beside it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pytest
import trio

from cyanite_py.config import ConfigError, parse_config
from cyanite_py.counters import Registry
from cyanite_py.engine import DriftConfig, Engine, EngineConfig
from cyanite_py.engine.rules import (
    InputAggregation,
    RuleConfig,
    first_input_aggregation,
    no_input_aggregation,
)
from cyanite_py.index.memory import MemoryIndex, MemoryIndexConfig
from cyanite_py.model import Aggregate, FloatArray, PointBatch, Resolution, Rollup, Series
from cyanite_py.query import Reader, least_points, regrid
from cyanite_py.sflow.aggregation import SflowAggregation
from cyanite_py.store.memory import MemoryStore, MemoryStoreConfig

NOW = 1_700_000_000 - 1_700_000_000 % 3600
FINE = Resolution(10, 3600)
COARSE = Resolution(60, 86400)
NAN = math.nan

Rules = Mapping[str, list[Resolution] | RuleConfig]


class Pipeline:
    """A real engine handing its windows to a real memory store, read through a real
    reader, all on one settable clock."""

    def __init__(
        self,
        rules: Rules,
        grace: int = 10,
        input_aggregation: InputAggregation = no_input_aggregation,
    ) -> None:
        self.now = NOW
        self.registry = Registry()
        self.store = MemoryStore(MemoryStoreConfig(), self.registry, clock=lambda: self.now)
        self.index = MemoryIndex(MemoryIndexConfig(), self.registry)
        _, receive = trio.open_memory_channel[PointBatch](1)
        self.engine = Engine(
            EngineConfig(rules=rules),
            DriftConfig(grace=grace),
            receive,
            self.store.write,
            self.index.add,
            self.registry,
            clock=lambda: self.now,
            input_aggregation=input_aggregation,
        )
        self.reader = Reader(self.store, self.index, self.engine, clock=lambda: self.now)

    async def ingest(self, *points: tuple[str, float, int]) -> None:
        """One batch of `(path, value, time)` points, in arrival order."""
        paths, values, times = zip(*points, strict=True)
        await self.store.write(
            self.engine.ingest(PointBatch(list(paths), list(values), list(times)))
        )

    async def checkpoint(self) -> None:
        await self.store.write(self.engine.checkpoint())

    async def flush(self) -> None:
        await self.store.write(self.engine.flush_all())

    async def read(
        self, path: str, start: int, end: int, aggregate: Aggregate | None = None
    ) -> list[float]:
        (series,) = await self.reader.fetch([path], start, end, aggregate)
        values: list[float] = series.values.tolist()
        return values


def same(found: Sequence[float] | FloatArray, expected: Sequence[float]) -> bool:
    """Equal value for value, NaN matching NaN."""
    return np.array_equal(np.asarray(found), np.asarray(expected), equal_nan=True)


# The aggregate, parsed where it enters.


def test_an_aggregate_is_parsed_once_and_average_is_carbons_name_for_the_mean() -> None:
    names = ("mean", "average", "sum", "min", "max", "count", "last")
    assert [Aggregate.parse(name) for name in names] == [
        Aggregate.MEAN,
        Aggregate.MEAN,
        Aggregate.SUM,
        Aggregate.MIN,
        Aggregate.MAX,
        Aggregate.COUNT,
        Aggregate.LAST,
    ]
    with pytest.raises(ValueError, match="must be one of mean, sum, min, max, count, last"):
        Aggregate.parse("avg")


# Rules in the configuration.


def test_a_rule_is_its_resolutions_or_a_mapping_that_says_how_it_rolls_up() -> None:
    config = parse_config(
        {
            "engine": {
                "rules": {
                    r"^c\.": {
                        "resolutions": ["10s:1d", "5m:30d"],
                        "aggregation": "last",
                        "x_files_factor": 0.5,
                    },
                    r"^g\.": {"resolutions": ["1m:1d"], "aggregation": "average"},
                    "default": ["10s:1d"],
                }
            }
        }
    )
    rules = config.engine.rules
    assert rules[r"^c\."] == RuleConfig(
        [Resolution(10, 86400), Resolution(300, 30 * 86400)], Aggregate.LAST, 0.5
    )
    assert rules[r"^g\."] == RuleConfig([Resolution(60, 86400)], Aggregate.MEAN)
    assert rules["default"] == [Resolution(10, 86400)]


@pytest.mark.parametrize(
    ("rule", "where", "says"),
    [
        (
            {"resolutions": ["10s:1d"], "aggregation": "count"},
            "engine.rules.x.aggregation",
            "must be average, sum, min, max or last, not 'count'",
        ),
        (
            {"resolutions": ["10s:1d"], "aggregation": "median"},
            "engine.rules.x.aggregation",
            "not 'median'",
        ),
        (
            {"resolutions": ["10s:1d"], "x_files_factor": 1.5},
            "engine.rules.x.x_files_factor",
            "less than or equal to 1",
        ),
        ({"resolutions": ["10s"]}, "engine.rules.x.resolutions.0", "not 'precision:period'"),
        ({"aggregation": "last"}, "engine.rules.x.resolutions", "Field required"),
        (
            {"resolutions": ["10s:1d"], "method": "last"},
            "engine.rules.x.method",
            "Unexpected keyword argument",
        ),
        ("10s:1d", "engine.rules.x", "a rule is a list of resolutions, or a mapping"),
    ],
)
def test_a_bad_rule_names_its_key(rule: object, where: str, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config({"engine": {"rules": {"x": rule, "default": ["10s:1d"]}}}, "cyanite.yaml")
    assert f"cyanite.yaml: {where}: " in str(raised.value)
    assert says in str(raised.value)


def test_a_path_rolls_up_by_its_rules_aggregation_else_its_inputs_else_the_mean() -> None:
    rules: Rules = {
        r"^sflow\.core\.": RuleConfig([FINE], Aggregate.MAX),
        r"^c\.": RuleConfig([FINE, COARSE], Aggregate.SUM, 0.25),
        "default": [FINE],
    }
    sflow = first_input_aggregation([SflowAggregation("sflow", rates=False)])
    engine = Pipeline(rules, input_aggregation=sflow).engine
    assert engine.rollup_for("c.requests") == Rollup(Aggregate.SUM, 0.25)
    assert engine.rollup_for("sflow.core.eth0.if_in_octets") == Rollup(Aggregate.MAX)
    assert engine.rollup_for("sflow.edge.eth0.if_in_octets") == Rollup(Aggregate.LAST)
    assert engine.rollup_for("sflow.edge.eth0.if_speed") == Rollup(Aggregate.MEAN)
    assert engine.rollup_for("web01.cpu") == Rollup(Aggregate.MEAN)


def test_sflow_counters_and_states_roll_up_by_their_last_sample_and_gauges_by_the_mean() -> None:
    raw = SflowAggregation("sflow", rates=False)
    assert raw("sflow.sw1.eth0.if_out_ucast_pkts") == Aggregate.LAST
    assert raw("sflow.web01.host.cpu_user") == Aggregate.LAST
    assert raw("sflow.sw1.eth0.if_status") == Aggregate.LAST
    assert raw("sflow.kvm1.vm3.vcpu_state") == Aggregate.LAST
    assert raw("sflow.sw1.eth0.if_speed") is None  # a gauge: the mean
    assert raw("sflow.web01.host.load_one") is None
    assert raw("carbon.sw1.eth0.if_in_octets") is None  # another prefix
    assert raw("sflow.sw1.if_in_octets") is None  # not <agent>.<source>.<counter>
    rates = SflowAggregation("net.sflow", rates=True)
    assert rates("net.sflow.sw1.eth0.if_in_octets") is None  # a rate is a gauge
    assert rates("net.sflow.sw1.eth0.if_status") == Aggregate.LAST


# Each window's last point, through the engine into the store.


async def test_a_window_keeps_its_last_point_whatever_order_its_points_come_in() -> None:
    p = Pipeline({"default": [FINE]})
    await p.ingest(("a", 5, NOW + 8), ("a", 9, NOW + 3))  # the point at +8 is the last
    assert p.engine.open_window("a", FINE) == (NOW, 2, 14.0, 5.0, 9.0, 5.0)
    assert await p.read("a", NOW, NOW, Aggregate.LAST) == [5.0]  # the open window
    await p.ingest(("a", 7, NOW + 8))  # the same time, arrived later: it is the last
    await p.ingest(("a", 100, NOW + 2))  # earlier: not the last
    await p.ingest(("b", 1, NOW + 5), ("b", 2, NOW + 5))  # one batch: the later one
    assert await p.read("a", NOW, NOW, Aggregate.LAST) == [7.0]
    await p.flush()
    assert p.engine.open_window("a", FINE) is None
    assert await p.read("a", NOW, NOW, Aggregate.LAST) == [7.0]  # from the store
    assert await p.read("a", NOW, NOW, Aggregate.MEAN) == [(5 + 9 + 7 + 100) / 4]
    assert await p.read("b", NOW, NOW, Aggregate.LAST) == [2.0]


async def test_checkpoints_and_late_points_hand_on_parts_that_keep_the_last_point() -> None:
    p = Pipeline({"default": [FINE]})
    p.now = NOW + 5
    await p.ingest(("a", 1, NOW + 1), ("a", 4, NOW + 4))
    await p.checkpoint()  # part 1: count 2, sum 5, last 4 at +4
    await p.ingest(("a", 2, NOW + 3))
    await p.ingest(("a", 8, NOW + 12))  # a later window closes NOW's: part 2, count 1,
    # sum 2, and the window's last point so far, 4 at +4
    await p.ingest(("a", 6, NOW + 9))  # late: a part of its own, last 6 at +9
    await p.ingest(("a", 3, NOW + 7))  # late again, but before +9
    await p.flush()
    assert p.registry.total("engine_points_late") == 2
    assert await p.read("a", NOW, NOW + 10, Aggregate.LAST) == [6.0, 8.0]
    assert await p.read("a", NOW, NOW + 10, Aggregate.COUNT) == [5.0, 1.0]
    assert await p.read("a", NOW, NOW + 10, Aggregate.MEAN) == [(1 + 4 + 2 + 6 + 3) / 5, 8.0]


# Reads and roll-ups by each path's rule.


async def test_a_read_takes_each_paths_rule_unless_the_query_names_an_aggregate() -> None:
    p = Pipeline(
        {
            r"^counter\.": RuleConfig([FINE], Aggregate.LAST),
            r"^total\.": RuleConfig([FINE], Aggregate.SUM),
            "default": [FINE],
        }
    )
    paths = ["counter.x", "total.x", "gauge.x"]
    await p.ingest(*[(path, value, NOW + at) for at, value in ((2, 5), (7, 6)) for path in paths])
    await p.flush()
    by_rule = await p.reader.fetch(paths, NOW, NOW)
    assert [series.values.tolist() for series in by_rule] == [[6.0], [11.0], [5.5]]
    assert [series.aggregate for series in by_rule] == [
        Aggregate.LAST,
        Aggregate.SUM,
        Aggregate.MEAN,
    ]
    asked = await p.reader.fetch(paths, NOW, NOW, Aggregate.MEAN)
    assert [series.values.tolist() for series in asked] == [[5.5], [5.5], [5.5]]


async def test_a_coarse_window_needs_x_files_factor_of_its_finer_windows() -> None:
    rules: Rules = {
        r"^half\.": RuleConfig([FINE, COARSE], Aggregate.MEAN, 0.5),
        "default": [FINE, COARSE],
    }
    p = Pipeline(rules)
    first = NOW - 7200  # two hours ago: past the 10 s windows' hour, so minutes are read
    for path in ("half.x", "any.x"):
        await p.ingest(
            *[(path, 1.0, first + t) for t in (0, 10, 20)],  # 3 of 6 tens: 0.5, kept
            *[(path, 2.0, first + 60 + t) for t in (0, 30)],  # 2 of 6: too few
            *[(path, 3.0, first + 120 + t) for t in range(0, 60, 10)],  # 6 of 6, still open
        )
    assert least_points((FINE, COARSE), COARSE, 0.5) == 3
    assert same(await p.read("half.x", first, first + 120), [1.0, NAN, 3.0])
    assert same(await p.read("any.x", first, first + 120), [1.0, 2.0, 3.0])
    await p.flush()
    assert same(await p.read("half.x", first, first + 120), [1.0, NAN, 3.0])


def test_least_points_count_the_finer_windows_a_coarse_window_must_cover() -> None:
    rule = (FINE, Resolution(60, 86400), Resolution(300, 86400 * 30))
    assert least_points(rule, rule[1], 0.5) == 3  # 6 tens in a minute, half of them
    assert least_points(rule, rule[1], 0.3) == 2  # 1.8, rounded up
    assert least_points(rule, rule[2], 0.3) == 2  # 5 minutes in five, 1.5 rounded up
    assert least_points(rule, rule[2], 1.0) == 5
    assert least_points(rule, rule[0], 0.9) == 0  # the finest has no finer windows
    assert least_points(rule, rule[1], 0.0) == 0


def test_a_roll_up_to_a_coarser_step_follows_the_series_aggregate_and_factor() -> None:
    values = np.array([1.0, NAN, 3.0, 5.0, NAN, NAN, NAN, 7.0, NAN])
    last = Series("p", 0, 10, values, Aggregate.LAST, 0.5)
    # buckets of 30 s: [1, -, 3] holds 2 of 3, [5, -, -] and [-, 7, -] 1 of 3 each
    assert same(regrid(last, 30).values, [3.0, NAN, NAN])
    assert same(regrid(Series("p", 0, 10, values, Aggregate.LAST), 30).values, [3.0, 5.0, 7.0])
    assert same(regrid(Series("p", 0, 10, values, Aggregate.MEAN), 30).values, [2.0, 5.0, 7.0])
    assert same(regrid(Series("p", 0, 10, values, Aggregate.SUM), 30).values, [4.0, 5.0, 7.0])
    assert same(regrid(Series("p", 0, 10, values, Aggregate.MIN), 30).values, [1.0, 5.0, 7.0])
    counts = Series("p", 0, 10, values, Aggregate.COUNT)
    assert same(regrid(counts, 30).values, [4.0, 5.0, 7.0])  # counts add up
    every = Series("p", 0, 10, values, Aggregate.MAX, 1.0)
    assert same(regrid(every, 30).values, [NAN, NAN, NAN])  # no bucket is full
    assert regrid(last, 30).aggregate == Aggregate.LAST
