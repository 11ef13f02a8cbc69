"""Last points in the Cassandra store beyond the store contract: how rows lay them out,
and folding a block's rows into one, which keeps the same last point and is written at
its latest part's write time, so that a row written after its parts wins a tie."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import trio
from cassandra.cluster import Session

from cyanite_py.counters import Registry
from cyanite_py.model import NO_TIME, Aggregate, PathTable, Resolution, SnapshotBatch
from cyanite_py.store.cassandra.fold import FOLD_MIN_ROWS
from cyanite_py.store.cassandra.layout import BLOCK_WINDOWS, PART_WINDOWS
from cyanite_py.store.cassandra.store import CassandraStore
from tests.fixtures_cassandra import store_config

pytestmark = pytest.mark.cassandra

TEN = Resolution(10, 86400)
NOW = int(time.time())
BLOCK = (NOW - 7200) - (NOW - 7200) % (TEN.precision * BLOCK_WINDOWS)
"""A 10 s block that ended over an hour ago."""
PART = BLOCK - BLOCK % (TEN.precision * PART_WINDOWS)


def windows(
    path: str,
    times: list[int],
    counts: list[int],
    sums: list[float],
    lasts: list[float],
    at: list[int],
) -> SnapshotBatch:
    """Windows of `path` at 10s:1d, each holding its sum as its min and max too."""
    table, keys = PathTable.numbering([path] * len(times))
    total = np.array(sums, dtype=np.float64)
    size = len(times)
    return SnapshotBatch(
        table,
        keys,
        np.full(size, TEN.precision),
        np.full(size, TEN.period),
        np.array(times, dtype=np.int64),
        np.array(counts, dtype=np.int64),
        total,
        total,
        total,
        [],
        np.array(lasts, dtype=np.float64),
        np.array(at, dtype=np.int64),
    )


def point(path: str, value: float, at: int) -> SnapshotBatch:
    """A window of one point."""
    start = at - at % TEN.precision
    return windows(path, [start], [1], [value], [value], [at])


async def read_lasts(store: CassandraStore, path: str, count: int) -> list[float]:
    found = await store.read([path], TEN, BLOCK, BLOCK + 10 * count, Aggregate.LAST)
    values: list[float] = found[path].values.tolist()
    return values


@pytest.fixture
async def store(
    nursery: trio.Nursery, cassandra_hosts: str, cassandra_keyspace: str
) -> CassandraStore:
    store = CassandraStore(store_config(cassandra_hosts, cassandra_keyspace), Registry())
    await nursery.start(store.run)
    return store


async def test_rows_hold_last_points_compactly(
    store: CassandraStore, cassandra_session: Session, cassandra_keyspace: str
) -> None:
    times = [BLOCK, BLOCK + 10, BLOCK + 20]
    await store.write(
        windows("one", times, [1, 1, 1], [4, 5, 6], [4, 5, 6], [t + 3 for t in times])
    )
    unknown = [BLOCK + 1, NO_TIME, BLOCK + 29]
    await store.write(windows("two", times, [2, 2, 3], [8, 6, 18], [4, math.nan, 6], unknown))
    stored = {
        row.path: (row.lasts, row.last_offsets)
        for row in cassandra_session.execute(
            f"SELECT path, lasts, last_offsets FROM {cassandra_keyspace}.block"
            f" WHERE path IN ('one', 'two') AND precision = 10 AND part = {PART}"
        )
    }
    # One point a window: each sum is the last point, and one offset (+3) serves all.
    assert stored["one"] == (b"", np.array([3], "<i4").tobytes())
    assert np.frombuffer(stored["two"][0], "<f8")[[0, 2]].tolist() == [4.0, 6.0]
    assert np.frombuffer(stored["two"][1], "<i4").tolist() == [1, -1, 9]
    assert await read_lasts(store, "one", 3) == [4.0, 5.0, 6.0]
    assert await read_lasts(store, "two", 3) == [4.0, 3.0, 6.0]  # unknown: its mean, 6 / 2


async def test_a_folded_block_keeps_its_last_point_and_its_parts_write_time(
    store: CassandraStore, cassandra_session: Session, cassandra_keyspace: str
) -> None:
    offsets = [5, 2, 9, 9, 1, 9, 3, 0]  # of +9, the part written last (value 5) wins
    assert len(offsets) == FOLD_MIN_ROWS
    for value, offset in enumerate(offsets):
        await store.write(point("f", float(value), BLOCK + offset))
    assert await read_lasts(store, "f", 1) == [5.0]
    where = f"path = 'f' AND precision = 10 AND part = {PART} AND start = {BLOCK}"
    select = f"SELECT WRITETIME(sums) FROM {cassandra_keyspace}.block WHERE {where}"
    parts = [row[0] for row in cassandra_session.execute(select)]
    assert await store.fold_due(time.time()) == 1
    assert [row[0] for row in cassandra_session.execute(select)] == [max(parts)]
    assert await read_lasts(store, "f", 1) == [5.0]
    await store.write(point("f", 42.0, BLOCK + 9))  # a tie, written after every part
    assert await read_lasts(store, "f", 1) == [42.0]
    await store.write(point("f", 7.0, BLOCK + 8))  # earlier: not the last
    assert await read_lasts(store, "f", 1) == [42.0]
