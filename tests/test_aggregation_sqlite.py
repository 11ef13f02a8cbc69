"""The SQLite store folds a block whose windows came in more parts than it holds windows,
and the fold keeps each window's last point."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
import trio

from cyanite_py.counters import Registry
from cyanite_py.model import Aggregate, IntArray, PathTable, Resolution, SnapshotBatch
from cyanite_py.store.blocks import BLOCK_WINDOWS, RECORD
from cyanite_py.store.sqlite.config import SqliteStoreConfig
from cyanite_py.store.sqlite.store import SqliteStore
from tests.helpers import wait_until

TEN = Resolution(10, 86400)
NOW = int(time.time())
BASE = NOW - NOW % 3600 - 3600


def one_point(value: float, at: int) -> SnapshotBatch:
    """The window at `BASE` of `folded`, one point of `value` at `at`."""
    table, keys = PathTable.numbering(["folded"])

    def ints(x: int) -> IntArray:
        return np.array([x], dtype=np.int64)

    floats = np.array([value], dtype=np.float64)
    columns = (ints(TEN.precision), ints(TEN.period), ints(BASE), ints(1))
    return SnapshotBatch(table, keys, *columns, floats, floats, floats, [], floats, ints(at))


async def test_a_block_written_in_more_parts_than_windows_is_folded(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    registry = Registry()
    config = SqliteStoreConfig(path=str(tmp_path / "c.db"), compact_after_writes=1, compact_quiet=0)
    store = SqliteStore(config, registry)
    await nursery.start(store.run)
    parts = BLOCK_WINDOWS + 2  # each compaction appends one part to the block
    for i in range(parts):
        await store.write(one_point(float(i), BASE + i % 10))
        with trio.fail_after(10):
            await wait_until(lambda: registry.total("store_compactions") > i)  # noqa: B023
    assert registry.total("store_errors") == 0
    with sqlite3.connect(config.path) as connection:
        (size,) = connection.execute("SELECT length(data) FROM block").fetchone()
    # 64 parts fill the block; the 65th folds them into one record; the 66th is appended
    assert size == 2 * RECORD.itemsize

    async def read(aggregate: Aggregate) -> float:
        found = await store.read(["folded"], TEN, BASE, BASE + 10, aggregate)
        value: float = found["folded"].values[0]
        return value

    assert await read(Aggregate.COUNT) == parts
    assert await read(Aggregate.SUM) == sum(range(parts))
    assert await read(Aggregate.LAST) == 59.0  # of the parts at +9, the last written
