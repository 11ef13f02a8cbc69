"""The engine: rules, aligned windows, flushing by clock and by later points, checkpoints,
late points merged."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from cyanite_py.counters import Registry
from cyanite_py.engine import DriftConfig, Engine, EngineConfig
from cyanite_py.engine.columns import grown_capacity
from cyanite_py.model import KeyedPoints, PathTable, PointBatch, Resolution, SnapshotBatch
from tests.builders import Snapshot, rows_of

NOW = 1_700_000_000 - 1_700_000_000 % 3600


class Harness:
    """An engine with a settable clock, collecting what it hands on; `rules` as Cyanite
    spells them."""

    def __init__(
        self,
        rules: dict[str, list[str]] | None = None,
        grace: int = 10,
        checkpoint: int = 5,
        **engine: int,
    ) -> None:
        self.now = NOW
        self.batches: list[SnapshotBatch] = []
        self.indexed: list[str] = []
        self.registry = Registry()
        self.send, receive = trio.open_memory_channel[PointBatch](16)
        spelled = rules or {"default": ["10s:1d", "5m:30d"]}
        config = EngineConfig(
            rules={pattern: list(map(Resolution.parse, each)) for pattern, each in spelled.items()},
            checkpoint_interval=checkpoint,
            **engine,
        )
        self.engine = Engine(
            config,
            DriftConfig(grace=grace, max_future=600),
            receive,
            self.emitted,
            self.indexed.extend,
            self.registry,
            clock=lambda: self.now,
        )

    async def emitted(self, batch: SnapshotBatch) -> None:
        self.batches.append(batch)

    def ingest(self, *points: tuple[str, float, int]) -> None:
        paths, values, times = zip(*points, strict=True) if points else ((), (), ())
        self.take(self.engine.ingest(PointBatch(list(paths), list(values), list(times))))

    def take(self, batch: SnapshotBatch) -> None:
        self.batches.append(batch)

    def flush_all(self) -> None:
        self.take(self.engine.flush_all())

    def flush_due(self) -> None:
        self.take(self.engine.flush_due())

    def checkpoint(self) -> None:
        self.take(self.engine.checkpoint())

    def snapshots(self) -> list[Snapshot]:
        return [row for batch in self.batches for row in rows_of(batch)]

    def merged(self) -> dict[tuple[str, int, int], tuple[int, float, float, float]]:
        """What a store holds once it merged every part."""
        return merge_parts(self.snapshots())

    def new_paths(self) -> list[str]:
        return [path for batch in self.batches for path in batch.new_paths]


def merge_parts(
    parts: list[Snapshot],
) -> dict[tuple[str, int, int], tuple[int, float, float, float]]:
    """(path, precision, time) → (count, sum, min, max) of every part of each window."""
    merged: dict[tuple[str, int, int], tuple[int, float, float, float]] = {}
    for s in parts:
        key = (s.path, s.precision, s.time)
        count, total, low, high = merged.get(key, (0, 0.0, math.inf, -math.inf))
        merged[key] = (count + s.count, total + s.sum, min(low, s.min), max(high, s.max))
    return merged


def test_a_point_lands_in_one_aligned_window_per_resolution() -> None:
    h = Harness({"default": ["10s:1h", "1m:1d"]})
    h.ingest(("a", 1, NOW - 95), ("a", 3, NOW - 93), ("a", 8, NOW - 61))
    h.flush_all()
    by_precision = {(s.precision, s.time): s for s in h.snapshots()}
    assert by_precision[(10, NOW - 100)] == Snapshot(
        "a", 10, 3600, NOW - 100, 2, 4.0, 1.0, 3.0, last=3.0, last_time=NOW - 93
    )
    assert by_precision[(10, NOW - 70)].count == 1
    assert by_precision[(60, NOW - 120)] == Snapshot(
        "a", 60, 86400, NOW - 120, 3, 12.0, 1.0, 8.0, last=8.0, last_time=NOW - 61
    )
    assert by_precision[(60, NOW - 120)].mean == 4.0


def test_rules_are_tried_in_order_and_searched_anywhere_in_the_path() -> None:
    h = Harness({r"^web.*\.cpu": ["5s:1h"], "disk": ["1m:1d"], "default": ["10s:1d", "5m:30d"]})
    assert h.engine.resolutions_for("web01.cpu") == (Resolution(5, 3600),)
    assert h.engine.resolutions_for("db.disk.sda") == (Resolution(60, 86400),)
    assert h.engine.resolutions_for("web01.disk") == (Resolution(60, 86400),)
    assert h.engine.resolutions_for("other") == (Resolution(10, 86400), Resolution(300, 2592000))


def test_paths_of_different_rules_first_seen_together_get_their_own_resolutions() -> None:
    h = Harness({"one": ["5s:1h"], "three": ["10s:1h", "1m:1d", "5m:7d"], "default": ["1m:1d"]})
    names = ["x.three", "x.one", "x.other", "y.three", "y.one"]
    h.ingest(*[(name, float(i), NOW - 30) for i, name in enumerate(names)])
    h.flush_all()
    resolutions: dict[str, set[tuple[int, float]]] = {}
    for snap in h.snapshots():
        resolutions.setdefault(snap.path, set()).add((snap.precision, snap.sum))
    assert resolutions == {
        "x.three": {(10, 0.0), (60, 0.0), (300, 0.0)},
        "x.one": {(5, 1.0)},
        "x.other": {(60, 2.0)},
        "y.three": {(10, 3.0), (60, 3.0), (300, 3.0)},
        "y.one": {(5, 4.0)},
    }
    assert h.engine.resolutions_for("y.three") == tuple(
        Resolution(p, d) for p, d in ((10, 3600), (60, 86400), (300, 7 * 86400))
    )
    assert h.new_paths() == names


@given(st.lists(st.integers(1, 50_000), min_size=1, max_size=200))
def test_growing_columns_overshoot_by_at_most_a_quarter(batches: list[int]) -> None:
    capacity, size = 1024, 0
    for rows in batches:
        size += rows
        if size > capacity:
            capacity = grown_capacity(capacity, size)
        assert size <= capacity <= max(1024, size + size // 4)


def test_the_wall_clock_closes_a_window_after_its_end_plus_grace() -> None:
    h = Harness({"default": ["10s:1h"]}, grace=5)
    h.ingest(("a", 1, NOW))
    h.now = NOW + 14
    h.flush_due()
    assert h.snapshots() == []
    h.now = NOW + 15
    h.flush_due()
    assert [s.time for s in h.snapshots()] == [NOW]
    assert h.engine.open_window("a", Resolution(10, 3600)) is None


def test_a_later_window_closes_the_earlier_so_replay_is_bounded() -> None:
    h = Harness({"default": ["10s:1d"]})
    start = NOW - 50_000
    h.ingest(*[("a", float(i), start + i) for i in range(0, 1000, 2)])
    snapshots = h.snapshots()
    assert len(snapshots) == 99
    assert all(s.count == 5 for s in snapshots)
    assert h.engine.unwritten() == 1
    h.flush_all()
    assert h.snapshots()[-1] == Snapshot(
        "a", 10, 86400, start + 990, 5, 4970.0, 990.0, 998.0, last=998.0, last_time=start + 998
    )


def test_late_and_out_of_order_points_are_handed_on_to_be_merged() -> None:
    h = Harness({"default": ["10s:1h"]})
    h.ingest(("a", 1, NOW - 100), ("a", 2, NOW - 80))
    h.ingest(("a", 3, NOW - 70))
    h.ingest(("a", 4, NOW - 90), ("a", 5, NOW - 98))
    h.flush_all()
    h.ingest(("a", 6, NOW - 72))
    h.flush_all()
    assert h.merged() == {
        ("a", 10, NOW - 100): (2, 6.0, 1.0, 5.0),
        ("a", 10, NOW - 90): (1, 4.0, 4.0, 4.0),
        ("a", 10, NOW - 80): (2, 8.0, 2.0, 6.0),
        ("a", 10, NOW - 70): (1, 3.0, 3.0, 3.0),
    }
    assert h.registry.value("engine_points_late") == 3


def test_a_window_closed_by_the_clock_takes_its_remaining_points_as_a_part() -> None:
    h = Harness({"default": ["1m:1d"]}, grace=0)
    h.now = NOW + 3600
    h.ingest(("a", 1, NOW), ("a", 2, NOW + 20))
    h.flush_due()
    h.ingest(("a", 3, NOW + 40), ("a", 4, NOW + 59))
    h.flush_due()
    assert [s.count for s in h.snapshots()] == [2, 2]
    assert h.merged() == {("a", 60, NOW): (4, 10.0, 1.0, 4.0)}
    assert h.registry.value("engine_points_late") == 0


def test_a_checkpoint_hands_on_what_is_not_yet_written_and_keeps_the_window_open() -> None:
    h = Harness({"default": ["10s:1h", "5m:1d"]})
    fine, coarse = Resolution(10, 3600), Resolution(300, 86400)
    h.ingest(("a", 4, NOW + 1), ("a", 2, NOW + 2))
    h.checkpoint()
    parts = sorted((s.precision, s.count, s.sum) for s in h.snapshots())
    assert parts == [(10, 2, 6.0), (300, 2, 6.0)]
    h.checkpoint()
    assert len(h.snapshots()) == 2, "nothing new, nothing handed on"
    h.ingest(("a", 9, NOW + 3))
    assert h.engine.open_window("a", fine) == (NOW, 3, 15.0, 2.0, 9.0, 9.0)
    assert h.engine.unwritten() == 2
    h.checkpoint()
    h.ingest(("a", 1, NOW + 200))
    h.flush_all()
    assert h.merged() == {
        ("a", 10, NOW): (3, 15.0, 2.0, 9.0),
        ("a", 10, NOW + 200): (1, 1.0, 1.0, 1.0),
        ("a", 300, NOW): (4, 16.0, 1.0, 9.0),
    }
    assert h.engine.open_window("a", coarse) is None
    assert h.engine.unwritten() == 0


def test_points_too_far_ahead_are_counted_and_dropped() -> None:
    h = Harness({"default": ["10s:1h"]})
    h.ingest(("a", 1, NOW + 601), ("a", 2, NOW + 600))
    h.flush_all()
    assert [s.sum for s in h.snapshots()] == [2.0]
    assert h.registry.value("engine_points_future") == 1


def test_points_older_than_a_resolutions_period_are_not_kept_there() -> None:
    h = Harness({"default": ["10s:1h", "1m:1d"]})
    h.ingest(("a", 1, NOW - 7200))
    h.flush_all()
    assert [s.precision for s in h.snapshots()] == [60]
    assert h.registry.value("engine_points_expired") == 1


def test_new_paths_reach_the_index_at_once_and_the_store_once() -> None:
    h = Harness()
    h.ingest(("a.b", 1, NOW), ("c", 1, NOW), ("a.b", 2, NOW))
    h.ingest(("a.b", 1, NOW + 1))
    assert h.indexed == ["a.b", "c"]
    assert h.new_paths() == ["a.b", "c"]


def test_open_windows_are_visible_until_flushed() -> None:
    h = Harness({"default": ["10s:1h"]})
    h.ingest(("a", 4, NOW + 1), ("a", 2, NOW + 2))
    assert h.engine.open_window("a", Resolution(10, 3600)) == (NOW, 2, 6.0, 2.0, 4.0, 2.0)
    assert h.engine.open_window("a", Resolution(60, 3600)) is None
    assert h.engine.open_window("unknown", Resolution(10, 3600)) is None


async def test_run_flushes_on_the_clock_and_everything_when_senders_close(
    autojump_clock: trio.testing.MockClock,
) -> None:
    h = Harness({"default": ["10s:1h"]}, grace=0)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(h.engine.run)
        await h.send.send(PointBatch(["a", "b"], [1.0, 2.0], [NOW - 10, NOW]))
        await trio.testing.wait_all_tasks_blocked()
        await trio.sleep(1.5)
        assert [s.path for s in h.snapshots()] == ["a"]
        await h.send.aclose()
    assert sorted(s.path for s in h.snapshots()) == ["a", "b"]


def reference(
    points: list[tuple[int, float, int]], precision: int
) -> dict[tuple[int, int], list[float]]:
    """What windows should hold, computed the obvious way (in-order points, none late)."""
    windows: dict[tuple[int, int], list[float]] = defaultdict(list)
    for path, value, timestamp in points:
        windows[(path, timestamp - timestamp % precision)].append(value)
    return windows


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),
            st.floats(-1e6, 1e6, allow_nan=False),
            st.integers(0, 3000),
        ),
        max_size=300,
    ),
    st.integers(1, 4),
)
def test_column_wise_aggregation_matches_the_obvious_one(
    raw: list[tuple[int, float, int]], batches: int
) -> None:
    raw.sort(key=lambda p: p[2])
    points = [(p, v, NOW - 4000 + t) for p, v, t in raw]
    h = Harness({"default": ["10s:1d", "1m:1d"]})
    size = max(1, len(points) // batches)
    for i in range(0, len(points), size):
        h.ingest(*[(f"s{p}", v, t) for p, v, t in points[i : i + size]])
    h.flush_all()
    for precision in (10, 60):
        expected = reference(points, precision)
        got = {(int(s.path[1:]), s.time): s for s in h.snapshots() if s.precision == precision}
        assert got.keys() == expected.keys()
        for key, values in expected.items():
            snap = got[key]
            assert snap.count == len(values)
            assert snap.sum == pytest.approx(sum(values), abs=1e-6)
            assert (snap.min, snap.max) == (min(values), max(values))


def keyed(table: PathTable, *points: tuple[int, float, int]) -> KeyedPoints:
    keys, values, times = zip(*points, strict=True)
    return KeyedPoints(
        table,
        np.array(keys, dtype=np.uint32),
        np.array(values, dtype=np.float64),
        np.array(times, dtype=np.int64),
    )


def test_keyed_points_join_the_windows_of_the_same_paths() -> None:
    h = Harness()
    table = PathTable()
    table.names.extend(["a", "b"])
    h.ingest(("a", 1, NOW))
    h.take(
        h.engine.ingest(
            keyed(table, (0, 2, NOW + 1), (1, 5, NOW + 2)), PointBatch(["b"], [7], [NOW])
        )
    )
    table.names.append("c")
    h.take(h.engine.ingest(keyed(table, (2, 4, NOW + 3), (0, 3, NOW + 4))))
    h.flush_all()
    fine = {s.path: (s.count, s.sum, s.min, s.max) for s in h.snapshots() if s.precision == 10}
    assert fine == {"a": (3, 6.0, 1.0, 3.0), "b": (2, 12.0, 5.0, 7.0), "c": (1, 4.0, 4.0, 4.0)}
    assert h.new_paths() == ["a", "b", "c"]
    assert h.registry.total("engine_series_created") == 3


def test_two_tables_number_the_same_path_alike() -> None:
    h = Harness()
    first, second = PathTable(), PathTable()
    first.names.extend(["x", "y"])
    second.names.extend(["y", "x"])
    h.take(h.engine.ingest(keyed(first, (0, 1, NOW), (1, 10, NOW)), keyed(second, (0, 20, NOW))))
    h.take(h.engine.ingest(keyed(second, (1, 2, NOW + 1))))
    h.flush_all()
    fine = {s.path: (s.count, s.sum) for s in h.snapshots() if s.precision == 10}
    assert fine == {"x": (2, 3.0), "y": (2, 30.0)}
    assert sorted(h.new_paths()) == ["x", "y"]


def test_a_reopened_window_is_not_shown_as_the_whole_window() -> None:
    h = Harness({"default": ["1m:1d"]}, grace=0)
    h.now = NOW + 3600
    h.ingest(("a", 1, NOW))
    assert h.engine.open_window("a", Resolution(60, 86400)) == (NOW, 1, 1.0, 1.0, 1.0, 1.0)
    h.flush_due()
    h.ingest(("a", 3, NOW + 40))
    assert h.engine.open_window("a", Resolution(60, 86400)) is None


def test_a_checkpoint_leaves_windows_that_close_before_the_next_one() -> None:
    h = Harness({"default": ["10s:1h"]}, grace=0, checkpoint=5)
    h.ingest(("soon", 1, NOW - 4), ("later", 2, NOW + 1))
    h.checkpoint()
    assert [(s.path, s.time) for s in h.snapshots()] == [("later", NOW)]
    h.flush_due()
    assert [(s.path, s.count) for s in h.snapshots()] == [("later", 1), ("soon", 1)]


def test_paths_past_max_series_are_refused_and_counted() -> None:
    h = Harness({"default": ["10s:1h"]}, max_series=2)
    h.ingest(("a", 1, NOW), ("b", 2, NOW), ("c", 3, NOW), ("c", 4, NOW + 1))
    h.ingest(("a", 5, NOW + 2))
    h.flush_all()
    assert sorted(s.path for s in h.snapshots()) == ["a", "b"]
    assert h.registry.value("engine_points_refused", reason="max_series") == 2
    assert h.indexed == ["a", "b"]


def test_new_series_past_the_minutes_share_wait_for_the_next_minute() -> None:
    h = Harness({"default": ["10s:1h"]}, max_new_series_per_minute=2)
    table = PathTable()
    table.names.extend(["x", "y", "z"])
    h.take(h.engine.ingest(keyed(table, (0, 1, NOW), (1, 1, NOW), (2, 1, NOW))))
    assert h.registry.value("engine_points_refused", reason="max_new_series_per_minute") == 1
    h.now = NOW + 61
    h.take(h.engine.ingest(keyed(table, (2, 7, NOW + 61))))
    h.flush_all()
    assert {s.path: s.sum for s in h.snapshots()} == {"x": 1.0, "y": 1.0, "z": 7.0}


def test_paths_with_empty_nodes_are_kept_as_graphite_can_query_them() -> None:
    h = Harness({"default": ["10s:1h"]})
    h.ingest(("a..b", 1, NOW), (".a.b", 2, NOW), ("a.b.", 3, NOW), ("a.b", 4, NOW), ("..", 9, NOW))
    table = PathTable()
    table.names.extend(["...", "c..d"])
    h.take(h.engine.ingest(keyed(table, (0, 1, NOW), (1, 5, NOW), (0, 1, NOW))))
    h.flush_all()
    assert {s.path: (s.count, s.sum) for s in h.snapshots()} == {"a.b": (4, 10.0), "c.d": (1, 5.0)}
    assert h.indexed == ["a.b", "c.d"]
    assert h.registry.value("engine_points_refused", reason="no_nodes") == 3
    assert h.registry.value("engine_paths_respelled") == 6
    assert h.engine.open_window("a..b", Resolution(10, 3600)) is None
    assert h.engine.resolutions_for("..") == (Resolution(10, 3600),)
