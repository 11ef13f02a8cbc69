"""What every store guarantees, as one suite each store's test module subclasses.

A subclass provides an async fixture `store`: a running, empty store. The suite asserts
only what every store promises. In particular, writing a window again leaves exactly one
window at that time, holding either the newer snapshot (a replacing store) or both merged
(a merging store: counts and sums added, min and max combined); which one is the store's
own choice and is tested in its own module. Expiry depends on each store's clock and is
tested per store too.

Window times are recent, so a store that expires by its resolution's period (for
instance through a TTL computed at write time) keeps them for the whole test.
"""

from __future__ import annotations

import math
import time

import numpy as np

from cyanite_py.model import Aggregate, Resolution, SnapshotBatch, Windows
from cyanite_py.store.base import Store
from tests.builders import Snapshot, batch_of

FINE = Resolution(10, 86400)
COARSE = Resolution(60, 7 * 86400)
NOW = int(time.time())
BASE = NOW - NOW % 3600 - 3600
"""An hour ago, aligned to both resolutions."""


def snap(
    path: str,
    t: int,
    count: int = 1,
    total: float = 1.0,
    low: float | None = None,
    high: float | None = None,
    resolution: Resolution = FINE,
) -> Snapshot:
    """A snapshot of `path` at `t`; min and max default to the mean."""
    mean = total / count
    return Snapshot(
        path,
        resolution.precision,
        resolution.period,
        t,
        count,
        total,
        mean if low is None else low,
        mean if high is None else high,
    )


def batch(*snapshots: Snapshot, new_paths: tuple[str, ...] = ()) -> SnapshotBatch:
    return batch_of(snapshots, new_paths)


async def read_windows(
    store: Store, paths: list[str], resolution: Resolution = FINE, start: int = BASE, end: int = NOW
) -> dict[str, Windows]:
    """Each path's stored windows, rebuilt from one read per aggregate; a path the store
    left out is left out here too."""
    reads = {
        aggregate: await store.read(paths, resolution, start, end, aggregate)
        for aggregate in (Aggregate.COUNT, Aggregate.SUM, Aggregate.MIN, Aggregate.MAX)
    }
    found = {}
    for path, counts in reads[Aggregate.COUNT].items():
        present = np.flatnonzero(~np.isnan(counts.values))
        found[path] = Windows(
            times=counts.start + counts.step * present,
            counts=counts.values[present],
            sums=reads[Aggregate.SUM][path].values[present],
            mins=reads[Aggregate.MIN][path].values[present],
            maxs=reads[Aggregate.MAX][path].values[present],
        )
    return found


async def read_one(
    store: Store, path: str, resolution: Resolution = FINE, start: int = BASE, end: int = NOW
) -> Windows:
    """The windows of one path, empty when the store left the path out."""
    found = await read_windows(store, [path], resolution, start, end)
    return found.get(path) or Windows.empty()


def rows(windows: Windows) -> list[tuple[int, float, float, float, float]]:
    """`(time, count, sum, min, max)` per window, for exact comparison."""
    return [
        (int(t), float(c), float(s), float(lo), float(hi))
        for t, c, s, lo, hi in zip(
            windows.times,
            windows.values(Aggregate.COUNT),
            windows.values(Aggregate.SUM),
            windows.values(Aggregate.MIN),
            windows.values(Aggregate.MAX),
            strict=True,
        )
    ]


class StoreContract:
    """Behaviour every `Store` implementation shares; subclasses provide the `store` fixture."""

    async def test_write_then_read_exact_values(self, store: Store) -> None:
        await store.write(
            batch(
                snap("a.b", BASE, count=3, total=6.0, low=1.0, high=3.0),
                snap("a.b", BASE + 10, count=2, total=0.1 + 0.2, low=-1e300, high=1e300),
            )
        )
        windows = await read_one(store, "a.b")
        assert rows(windows) == [
            (BASE, 3.0, 6.0, 1.0, 3.0),
            (BASE + 10, 2.0, 0.1 + 0.2, -1e300, 1e300),
        ]
        assert windows.values(Aggregate.MEAN).tolist() == [2.0, (0.1 + 0.2) / 2]

    async def test_windows_come_back_sorted_by_time(self, store: Store) -> None:
        times = [BASE + 50, BASE, BASE + 30, BASE + 10]
        await store.write(batch(*(snap("sorted", t, total=float(t)) for t in times)))
        windows = await read_one(store, "sorted")
        assert windows.times.tolist() == sorted(times)
        assert windows.values(Aggregate.SUM).tolist() == [float(t) for t in sorted(times)]

    async def test_a_read_lays_one_aggregate_on_the_resolution_grid(self, store: Store) -> None:
        await store.write(
            batch(snap("grid", BASE + 10, count=2, total=6.0), snap("grid", BASE + 40, total=5.0))
        )
        found = await store.read(["grid"], FINE, BASE + 3, BASE + 55, Aggregate.MEAN)
        series = found["grid"]
        assert (series.path, series.start, series.step) == ("grid", BASE, 10)
        assert [None if math.isnan(v) else v for v in series.values] == [
            None,
            3.0,
            None,
            None,
            5.0,
            None,
        ]

    async def test_read_range_includes_start_and_excludes_end(self, store: Store) -> None:
        await store.write(batch(*(snap("range", BASE + 10 * i) for i in range(10))))
        windows = await read_one(store, "range", start=BASE + 20, end=BASE + 60)
        assert windows.times.tolist() == [BASE + 20, BASE + 30, BASE + 40, BASE + 50]
        assert len(await read_one(store, "range", start=BASE + 21, end=BASE + 30)) == 0
        assert len(await read_one(store, "range", start=BASE + 100, end=BASE + 200)) == 0

    async def test_paths_are_kept_apart(self, store: Store) -> None:
        await store.write(
            batch(snap("x.one", BASE, total=1.0), snap("x.two", BASE, total=2.0), snap("x", BASE))
        )
        found = await read_windows(store, ["x.one", "x.two"], FINE, BASE, NOW)
        assert found["x.one"].values(Aggregate.SUM).tolist() == [1.0]
        assert found["x.two"].values(Aggregate.SUM).tolist() == [2.0]
        assert "x" not in found or len(found["x"]) == 0

    async def test_resolutions_of_one_path_are_kept_apart(self, store: Store) -> None:
        await store.write(
            batch(
                snap("multi", BASE, total=10.0, resolution=FINE),
                snap("multi", BASE + 10, total=11.0, resolution=FINE),
                snap("multi", BASE, count=6, total=60.0, resolution=COARSE),
            )
        )
        assert rows(await read_one(store, "multi", FINE)) == [
            (BASE, 1.0, 10.0, 10.0, 10.0),
            (BASE + 10, 1.0, 11.0, 11.0, 11.0),
        ]
        assert rows(await read_one(store, "multi", COARSE)) == [(BASE, 6.0, 60.0, 10.0, 10.0)]

    async def test_rewritten_window_is_one_window(self, store: Store) -> None:
        """Replaced or merged, depending on the store, but never duplicated."""
        first = snap("again", BASE, count=2, total=4.0, low=1.0, high=3.0)
        second = snap("again", BASE, count=1, total=5.0, low=5.0, high=5.0)
        await store.write(batch(first))
        await store.write(batch(second))
        found = rows(await read_one(store, "again"))
        replaced = [(BASE, 1.0, 5.0, 5.0, 5.0)]
        merged = [(BASE, 3.0, 9.0, 1.0, 5.0)]
        assert found in (replaced, merged)

    async def test_new_paths_are_loaded(self, store: Store) -> None:
        await store.write(batch(snap("seen.one", BASE), new_paths=("seen.one",)))
        await store.write(batch(new_paths=("seen.two", "seen.three")))
        assert {"seen.one", "seen.two", "seen.three"} <= set(await store.load_paths())

    async def test_load_paths_of_an_empty_store_is_empty(self, store: Store) -> None:
        assert await store.load_paths() == []

    async def test_many_paths_in_one_read(self, store: Store) -> None:
        paths = [f"many.p{i:04d}" for i in range(1000)]
        await store.write(
            batch(*(snap(p, BASE + 10 * (i % 3), total=float(i)) for i, p in enumerate(paths)))
        )
        found = await read_windows(store, paths, FINE, BASE, NOW)
        for i, path in enumerate(paths):
            assert rows(found[path]) == [(BASE + 10 * (i % 3), 1.0, float(i), float(i), float(i))]

    async def test_big_batch(self, store: Store) -> None:
        paths = [f"big.p{i:04d}" for i in range(5000)]
        big = batch_of(
            (
                snap(path, BASE + 10 * step, total=float(i * 10 + step))
                for step in range(10)
                for i, path in enumerate(paths)
            ),
            paths,
        )
        assert len(big) == 50_000
        await store.write(big)
        found = await read_windows(store, paths, FINE, BASE, NOW)
        assert sum(len(found[p]) for p in paths) == 50_000
        assert found["big.p1234"].values(Aggregate.SUM).tolist() == [
            float(12340 + s) for s in range(10)
        ]
        assert set(paths) <= set(await store.load_paths())

    async def test_odd_characters_in_paths(self, store: Store) -> None:
        odd = [
            "a-b_c:d@e%f+g",
            "quote's.and\"double",
            "back\\slash",
            "unicodé.日本語.🚀",
        ]
        await store.write(
            batch(*(snap(p, BASE, total=float(i)) for i, p in enumerate(odd)), new_paths=tuple(odd))
        )
        found = await read_windows(store, odd, FINE, BASE, NOW)
        for i, path in enumerate(odd):
            assert found[path].values(Aggregate.SUM).tolist() == [float(i)]
        assert set(odd) <= set(await store.load_paths())

    async def test_empty_batch(self, store: Store) -> None:
        await store.write(SnapshotBatch())
        assert await store.load_paths() == []
        assert len(await read_one(store, "nothing")) == 0

    async def test_unknown_path_reads_empty(self, store: Store) -> None:
        await store.write(batch(snap("known", BASE)))
        found = await read_windows(store, ["unknown", "known"], FINE, BASE, NOW)
        assert len(found.get("unknown") or Windows.empty()) == 0
        assert len(found["known"]) == 1
        assert not any(math.isnan(v) for v in found["known"].values(Aggregate.MEAN))

    # The engine writes a window in parts (late points, checkpoints of open windows, a
    # replay, a second server), so every store merges them exactly: counts and sums added,
    # min and max combined.

    async def test_a_window_written_in_three_writes_reads_back_merged(self, store: Store) -> None:
        parts = [
            snap("parts", BASE, count=2, total=3.0, low=1.0, high=2.0),
            snap("parts", BASE, count=1, total=-4.0, low=-4.0, high=-4.0),
            snap("parts", BASE, count=3, total=30.0, low=9.0, high=11.0),
        ]
        for part in parts:
            await store.write(batch(part, snap("parts", BASE + 10, total=float(part.count))))
        assert rows(await read_one(store, "parts")) == [
            (BASE, 6.0, 29.0, -4.0, 11.0),
            (BASE + 10, 3.0, 6.0, 1.0, 3.0),
        ]
        found = await store.read(["parts"], FINE, BASE, BASE + 20, Aggregate.MEAN)
        assert found["parts"].values.tolist() == [29.0 / 6, 2.0]

    async def test_one_window_twice_in_one_batch_merges(self, store: Store) -> None:
        await store.write(
            batch(
                snap("twice", BASE, count=1, total=2.0, low=2.0, high=2.0),
                snap("twice", BASE, count=1, total=5.0, low=5.0, high=5.0),
            )
        )
        assert rows(await read_one(store, "twice")) == [(BASE, 2.0, 7.0, 2.0, 5.0)]

    async def test_parts_merge_per_resolution_and_path(self, store: Store) -> None:
        for _ in range(2):
            await store.write(
                batch(
                    snap("pm.a", BASE, total=1.0),
                    snap("pm.a", BASE, count=6, total=6.0, resolution=COARSE),
                    snap("pm.b", BASE, total=7.0),
                )
            )
        assert rows(await read_one(store, "pm.a")) == [(BASE, 2.0, 2.0, 1.0, 1.0)]
        assert rows(await read_one(store, "pm.a", COARSE)) == [(BASE, 12.0, 12.0, 1.0, 1.0)]
        assert rows(await read_one(store, "pm.b")) == [(BASE, 2.0, 14.0, 7.0, 7.0)]

    async def test_paths_since_a_cursor_include_every_later_path(self, store: Store) -> None:
        await store.write(batch(snap("since.one", BASE), new_paths=("since.one",)))
        first, cursor = await store.load_paths_since(0)
        assert set(first) == {"since.one"}
        await store.write(batch(new_paths=("since.two", "since.three")))
        later, cursor = await store.load_paths_since(cursor)
        assert (
            {"since.two", "since.three"} <= set(later) <= {"since.one", "since.two", "since.three"}
        )
        again, _ = await store.load_paths_since(cursor)
        assert set(again) <= {"since.one", "since.two", "since.three"}

    # Each window keeps its last point: the point of the latest time, and of two points of
    # one time the one written later. A window written without one reads its mean.

    async def test_a_window_keeps_the_last_point_of_the_latest_time(self, store: Store) -> None:
        await store.write(batch(last_of("lt", BASE, 2, 10.0, 6.0, BASE + 7)))
        await store.write(batch(last_of("lt", BASE, 1, 1.0, 1.0, BASE + 2)))  # earlier point
        await store.write(batch(last_of("lt", BASE + 10, 1, 4.0, 4.0, BASE + 11)))
        await store.write(batch(last_of("lt", BASE + 10, 1, 8.0, 8.0, BASE + 16)))
        assert await read_last(store, "lt", 2) == [6.0, 8.0]
        assert rows(await read_one(store, "lt")) == [
            (BASE, 3.0, 11.0, 1.0, 6.0),
            (BASE + 10, 2.0, 12.0, 4.0, 8.0),
        ]

    async def test_of_last_points_of_one_time_the_later_written_wins(self, store: Store) -> None:
        await store.write(batch(last_of("tie", BASE, 2, 3.0, 1.0, BASE + 4)))
        await store.write(batch(last_of("tie", BASE + 10, 2, 12.0, 9.0, BASE + 14)))
        await store.write(batch(last_of("tie", BASE, 2, 5.0, 2.0, BASE + 4)))
        await store.write(batch(last_of("tie", BASE + 10, 2, 6.0, 3.0, BASE + 14)))
        assert await read_last(store, "tie", 2) == [2.0, 3.0]

    async def test_of_parts_in_one_batch_the_later_last_point_wins(self, store: Store) -> None:
        await store.write(
            batch(
                last_of("batched", BASE, 2, 3.0, 1.0, BASE + 4),
                last_of("batched", BASE, 2, 5.0, 2.0, BASE + 4),
                last_of("batched", BASE + 10, 2, 14.0, 7.0, BASE + 19),
                last_of("batched", BASE + 10, 2, 6.0, 5.0, BASE + 12),
            )
        )
        assert await read_last(store, "batched", 2) == [2.0, 7.0]

    async def test_a_window_without_a_last_point_reads_its_mean(self, store: Store) -> None:
        await store.write(batch(snap("unknown.last", BASE, count=4, total=10.0)))
        assert await read_last(store, "unknown.last", 1) == [2.5]
        await store.write(batch(last_of("unknown.last", BASE, 1, 7.0, 7.0, BASE + 1)))
        assert await read_last(store, "unknown.last", 1) == [7.0]
        assert rows(await read_one(store, "unknown.last")) == [(BASE, 5.0, 17.0, 2.5, 7.0)]


def last_of(path: str, t: int, count: int, total: float, last: float, at: int) -> Snapshot:
    """A snapshot of `path` at `t` whose last point is `last` at time `at`; its min and
    max are the lowest and highest of its mean and its last point."""
    low, high = sorted((total / count, last))
    return Snapshot(path, FINE.precision, FINE.period, t, count, total, low, high, last, at)


async def read_last(store: Store, path: str, windows: int) -> list[float]:
    """The last points of `path`'s first `windows` windows from `BASE`."""
    found = await store.read([path], FINE, BASE, BASE + 10 * windows, Aggregate.LAST)
    values: list[float] = found[path].values.tolist()
    return values
