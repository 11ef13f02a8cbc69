"""Nothing is lost to arrival order: any order and any split of the same points, with
checkpoints, clock flushes and restarts in between, stores the same windows in SQLite."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from cyanite_py.counters import Registry
from cyanite_py.engine import DriftConfig, Engine, EngineConfig
from cyanite_py.model import Aggregate, PointBatch, Resolution, SnapshotBatch
from cyanite_py.store.sqlite.config import SqliteStoreConfig
from cyanite_py.store.sqlite.store import SqliteStore

START = 1_700_000_000 - 1_700_000_000 % 3600
SPAN = 1200
RESOLUTIONS = (Resolution(10, 86400), Resolution(60, 86400))
STEPS = ("none", "checkpoint", "flush_due", "restart")

Point = tuple[int, int, int]
"""(series, integer value, seconds after START): integer values keep sums exact."""


def expected(points: list[Point], precision: int) -> dict[tuple[int, int], list[int]]:
    windows: dict[tuple[int, int], list[int]] = defaultdict(list)
    for series, value, offset in points:
        t = START + offset
        windows[(series, t - t % precision)].append(value)
    return windows


class Replay:
    """An engine and a SQLite store on one file, restartable, on a clock the test sets."""

    def __init__(self, directory: Path) -> None:
        self.path = str(directory / "cyanite.db")
        self.now = START + SPAN

    def engine(self) -> Engine:
        config = EngineConfig(rules={"default": list(RESOLUTIONS)})
        _, receive = trio.open_memory_channel[PointBatch](1)
        return Engine(
            config,
            DriftConfig(grace=10),
            receive,
            self._unused,
            self._no_index,
            Registry(),
            self.clock,
        )

    def clock(self) -> float:
        return self.now

    async def _unused(self, batch: SnapshotBatch) -> None:
        raise AssertionError("the test hands batches to the store itself")

    def _no_index(self, paths: Sequence[str]) -> None:
        """There is no index: the store learns new paths from the batches it is handed."""

    async def open_store(self, nursery: trio.Nursery) -> SqliteStore:
        store = SqliteStore(SqliteStoreConfig(path=self.path), Registry(), clock=self.clock)
        await nursery.start(store.run)
        return store


@settings(max_examples=30, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.integers(0, 2), st.integers(-1000, 1000), st.integers(0, SPAN - 1)),
        min_size=1,
        max_size=150,
    ),
    data=st.data(),
)
async def test_any_order_and_split_stores_identical_windows(
    points: list[Point], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(points))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(points)), max_size=6)))
    chunks = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(points)], strict=True)]
    with tempfile.TemporaryDirectory() as directory:
        replay = Replay(Path(directory))
        stores = trio.open_nursery()
        nursery = await stores.__aenter__()
        try:
            store, engine = await replay.open_store(nursery), replay.engine()
            for chunk in chunks:
                replay.now = START + SPAN + data.draw(st.integers(0, 90))
                if chunk:
                    series, values, offsets = zip(*chunk, strict=True)
                    paths = [f"s.{s}" for s in series]
                    times = [START + o for o in offsets]
                    await store.write(engine.ingest(PointBatch(paths, list(values), times)))
                step = data.draw(st.sampled_from(STEPS))
                if step == "checkpoint":
                    await store.write(engine.checkpoint())
                elif step == "flush_due":
                    await store.write(engine.flush_due())
                elif step == "restart":
                    await store.write(engine.flush_all())
                    nursery.cancel_scope.cancel()
                    await stores.__aexit__(None, None, None)
                    stores = trio.open_nursery()
                    nursery = await stores.__aenter__()
                    store, engine = await replay.open_store(nursery), replay.engine()
            await store.write(engine.flush_all())
            for resolution in RESOLUTIONS:
                await check(store, points, resolution)
        finally:
            nursery.cancel_scope.cancel()
            await stores.__aexit__(None, None, None)


async def check(store: SqliteStore, points: list[Point], resolution: Resolution) -> None:
    windows = expected(points, resolution.precision)
    paths = sorted({f"s.{series}" for series, _, _ in points})
    reducers = (
        (Aggregate.COUNT, len),
        (Aggregate.SUM, sum),
        (Aggregate.MIN, min),
        (Aggregate.MAX, max),
    )
    for aggregate, reduce in reducers:
        found = await store.read(paths, resolution, START, START + SPAN, aggregate)
        for path in paths:
            values = found[path].values
            series = int(path[2:])
            want = np.full(len(values), np.nan)
            for (s, t), members in windows.items():
                if s == series:
                    want[(t - START) // resolution.precision] = reduce(members)
            np.testing.assert_array_equal(values, want, err_msg=f"{path} {aggregate} {resolution}")
