"""Stores written before windows kept their last point, opened by this version.

`tests/data/sqlite/layout0.db` was written by the SQLite store of the version before
(40-byte records, `PRAGMA user_version` 0) on a clock at `T0 + 60`, all at 10s:1d:

- `old.a`: windows at T0 (count 2, sum 6, min 2, max 4) and T0 + 10 (1, 5, 5, 5), moved
  into `block`; then a second part of T0 (1, 9, 9, 9), left in `recent`;
- `old.b`: a window at T0 (3, 3, 0, 2), in `recent`.

The Cassandra test writes a `block` table and a row as the version before laid them out.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import trio
from cassandra.cluster import Session

from cyanite_py.counters import Registry
from cyanite_py.model import Aggregate, PathTable, Resolution, SnapshotBatch
from cyanite_py.store.base import Store, StoreUnavailable
from cyanite_py.store.cassandra.layout import PART_WINDOWS
from cyanite_py.store.cassandra.store import CassandraStore
from cyanite_py.store.sqlite.config import SqliteStoreConfig
from cyanite_py.store.sqlite.schema import LAYOUT
from cyanite_py.store.sqlite.store import SqliteStore
from cyanite_py.store.sqlite.upgrade import rewrite_next_blocks, start_or_resume
from tests.fixtures_cassandra import store_config

LAYOUT_0 = Path(__file__).parent / "data" / "sqlite" / "layout0.db"
T0 = 1_699_999_200
TEN = Resolution(10, 86400)


def part(path: str, t: int, count: int, total: float, last: float, at: int) -> SnapshotBatch:
    """One window of `path` at 10s:1d whose last point is `last` at `at`."""
    table, keys = PathTable.numbering([path])

    def ints(value: int) -> np.ndarray:
        return np.array([value], dtype=np.int64)

    def floats(value: float) -> np.ndarray:
        return np.array([value], dtype=np.float64)

    low, high = sorted((total / count, last))
    return SnapshotBatch(
        table,
        keys,
        ints(TEN.precision),
        ints(TEN.period),
        ints(t),
        ints(count),
        floats(total),
        floats(low),
        floats(high),
        [],
        floats(last),
        ints(at),
    )


async def read(store: Store, path: str, aggregate: Aggregate, windows: int = 2) -> list[float]:
    found = await store.read([path], TEN, T0, T0 + 10 * windows, aggregate)
    values: list[float] = found[path].values.tolist()
    return values


def layout_0_copy(tmp_path: Path) -> SqliteStoreConfig:
    path = tmp_path / "cyanite.db"
    shutil.copyfile(LAYOUT_0, path)
    return SqliteStoreConfig(path=str(path))


async def opened(config: SqliteStoreConfig, nursery: trio.Nursery) -> SqliteStore:
    store = SqliteStore(config, Registry(), clock=lambda: T0 + 60)
    await nursery.start(store.run)
    return store


async def assert_reads_as_written_before(store: SqliteStore) -> None:
    """Every window of the file as the version before wrote it, its last point its mean."""
    assert await read(store, "old.a", Aggregate.COUNT) == [3.0, 1.0]
    assert await read(store, "old.a", Aggregate.SUM) == [15.0, 5.0]
    assert await read(store, "old.a", Aggregate.MIN) == [2.0, 5.0]
    assert await read(store, "old.a", Aggregate.MAX) == [9.0, 5.0]
    assert await read(store, "old.a", Aggregate.LAST) == [5.0, 5.0]  # 15 / 3, 5 / 1
    assert await read(store, "old.b", Aggregate.LAST, 1) == [1.0]  # 3 / 3


async def test_a_sqlite_file_written_before_is_upgraded_and_reads_the_same(
    tmp_path: Path,
) -> None:
    config = layout_0_copy(tmp_path)
    async with trio.open_nursery() as nursery:
        store = await opened(config, nursery)
        await assert_reads_as_written_before(store)
        await store.write(part("old.a", T0, 1, 7.0, 7.0, T0 + 1))  # any last point outranks
        assert await read(store, "old.a", Aggregate.LAST) == [7.0, 5.0]
        assert await read(store, "old.a", Aggregate.MEAN) == [22.0 / 4, 5.0]
        nursery.cancel_scope.cancel()
    with sqlite3.connect(config.path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (LAYOUT,)
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
        assert "upgrade_progress" not in tables
    async with trio.open_nursery() as nursery:  # opened again: nothing left to upgrade
        store = await opened(config, nursery)
        assert await read(store, "old.a", Aggregate.LAST) == [7.0, 5.0]
        assert await read(store, "old.a", Aggregate.COUNT) == [4.0, 1.0]
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("blocks_done", [False, True])
async def test_an_upgrade_stopped_halfway_carries_on_without_rewriting_twice(
    tmp_path: Path, blocks_done: bool
) -> None:
    config = layout_0_copy(tmp_path)
    connection = sqlite3.connect(config.path, isolation_level=None)
    key = start_or_resume(connection)  # `recent` rewritten, no block yet
    if blocks_done:
        assert rewrite_next_blocks(connection, key) == (1, 10, T0 - T0 % 640)
    connection.close()  # the server stops here
    async with trio.open_nursery() as nursery:
        store = await opened(config, nursery)
        await assert_reads_as_written_before(store)
        nursery.cancel_scope.cancel()


async def test_a_sqlite_file_of_a_later_layout_is_refused(tmp_path: Path) -> None:
    config = layout_0_copy(tmp_path)
    with sqlite3.connect(config.path) as connection:
        connection.execute(f"PRAGMA user_version = {LAYOUT + 1}")
    store = SqliteStore(config, Registry())
    with pytest.raises(ExceptionGroup) as raised:
        async with trio.open_nursery() as nursery:
            await nursery.start(store.run)
    assert raised.group_contains(StoreUnavailable, match="written by a later version")


OLD_BLOCK_CQL = """
CREATE TABLE {keyspace}.block (
  path text, precision int, part bigint, start bigint, stamp bigint,
  offsets blob, counts blob, sums blob, mins blob, maxs blob,
  PRIMARY KEY ((path, precision, part), start, stamp)
)
"""
"""`block` as the version before created it."""


def old_row(session: Session, keyspace: str) -> None:
    """Two windows of `old.c` as the version before wrote them: T0 (count 2, sum 6, min 2,
    max 4) and T0 + 10 (count 2, sum 3, min 1, max 2); one count for both."""
    start = T0 - T0 % (10 * 256)
    session.execute(
        f"INSERT INTO {keyspace}.block (path, precision, part, start, stamp, offsets, counts,"
        " sums, mins, maxs) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            "old.c",
            10,
            start - start % (10 * PART_WINDOWS),
            start,
            42,
            bytes([(T0 - start) // 10, (T0 - start) // 10 + 1]),
            np.array([2.0], "<f8").tobytes(),
            np.array([6.0, 3.0], "<f8").tobytes(),
            np.array([2.0, 1.0], "<f8").tobytes(),
            np.array([4.0, 2.0], "<f8").tobytes(),
        ),
    )


@pytest.mark.cassandra
async def test_a_cassandra_table_created_before_gains_the_columns_of_last_points(
    cassandra_hosts: str, cassandra_keyspace: str, cassandra_session: Session
) -> None:
    cassandra_session.execute(OLD_BLOCK_CQL.format(keyspace=cassandra_keyspace))
    old_row(cassandra_session, cassandra_keyspace)
    store = CassandraStore(store_config(cassandra_hosts, cassandra_keyspace), Registry())
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        assert store.connected
        assert await read(store, "old.c", Aggregate.COUNT) == [2.0, 2.0]
        assert await read(store, "old.c", Aggregate.LAST) == [3.0, 1.5]  # their means
        await store.write(part("old.c", T0 + 10, 1, 8.0, 8.0, T0 + 14))
        assert await read(store, "old.c", Aggregate.LAST) == [3.0, 8.0]
        assert await read(store, "old.c", Aggregate.MAX) == [4.0, 8.0]
        nursery.cancel_scope.cancel()


@pytest.mark.cassandra
async def test_without_create_schema_a_table_created_before_is_named_with_its_fix(
    cassandra_hosts: str,
    cassandra_keyspace: str,
    cassandra_session: Session,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cassandra_session.execute(OLD_BLOCK_CQL.format(keyspace=cassandra_keyspace))
    config = store_config(cassandra_hosts, cassandra_keyspace, create_schema=False)
    store = CassandraStore(config, Registry())
    with caplog.at_level(logging.ERROR):
        async with trio.open_nursery() as nursery:
            await nursery.start(store.run)
            assert not store.connected
            nursery.cancel_scope.cancel()
    fix = f"ALTER TABLE {cassandra_keyspace}.block ADD (lasts blob, last_offsets blob)"
    assert f"lacks the columns of last points; apply {fix}" in caplog.text
