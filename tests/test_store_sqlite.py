"""The SQLite store: the shared contract, plus persistence, merging, expiry and concurrency."""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trio
import trio.testing

from cyanite_py.counters import Registry
from cyanite_py.model import Aggregate, PathTable, SnapshotBatch
from cyanite_py.store.base import StoreUnavailable
from cyanite_py.store.blocks import BLOCK_WINDOWS, RECORD
from cyanite_py.store.sqlite.config import MAX_RECENT_WRITES, SqliteStoreConfig
from cyanite_py.store.sqlite.store import SqliteStore
from tests.builders import Snapshot, batch_of
from tests.helpers import wait_until
from tests.store_contract import (
    BASE,
    COARSE,
    FINE,
    NOW,
    StoreContract,
    batch,
    read_one,
    read_windows,
    rows,
    snap,
)


def config_at(tmp_path: Path, **changes: Any) -> SqliteStoreConfig:
    return SqliteStoreConfig(path=str(tmp_path / "deep" / "dir" / "cyanite.db"), **changes)


@pytest.fixture
async def store(nursery: trio.Nursery, tmp_path: Path) -> SqliteStore:
    store = SqliteStore(config_at(tmp_path), Registry())
    await nursery.start(store.run)
    return store


class FakeClock:
    """Wall-clock seconds the test sets by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class TestSqliteStore(StoreContract):
    async def test_rewritten_window_merges(self, store: SqliteStore) -> None:
        await store.write(batch(snap("m", BASE, count=2, total=4.0, low=1.0, high=3.0)))
        await store.write(batch(snap("m", BASE, count=1, total=5.0, low=5.0, high=5.0)))
        assert rows(await read_one(store, "m")) == [(BASE, 3.0, 9.0, 1.0, 5.0)]

    async def test_one_window_twice_in_a_batch_merges(self, store: SqliteStore) -> None:
        await store.write(batch(snap("m2", BASE, total=1.0), snap("m2", BASE, total=2.0)))
        assert rows(await read_one(store, "m2")) == [(BASE, 2.0, 3.0, 1.0, 2.0)]

    async def test_snapshot_paths_are_loaded_too(self, store: SqliteStore) -> None:
        await store.write(batch(snap("only.in.snapshots", BASE)))
        assert await store.load_paths() == ["only.in.snapshots"]


def test_config_defaults_and_validation() -> None:
    config = SqliteStoreConfig()
    assert (config.path, config.expire_interval, config.synchronous) == (
        "./data/cyanite.db",
        600,
        "normal",
    )
    assert SqliteStoreConfig(expire_interval="1h").expire_interval == 3600  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="synchronous"):
        SqliteStoreConfig(synchronous="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="compact_after_writes"):
        SqliteStoreConfig(compact_after_writes=0)
    with pytest.raises(ValueError, match="pathh"):
        SqliteStoreConfig(pathh="x")  # type: ignore[call-arg]


async def test_persists_across_close_and_reopen(tmp_path: Path) -> None:
    config = config_at(tmp_path)
    async with trio.open_nursery() as nursery:
        first = SqliteStore(config, Registry())
        await nursery.start(first.run)
        await first.write(batch(snap("p.one", BASE, total=7.0), new_paths=("p.one", "p.empty")))
        nursery.cancel_scope.cancel()
    with pytest.raises(StoreUnavailable, match="not open"):
        await first.write(batch(snap("p.late", BASE)))
    with pytest.raises(StoreUnavailable, match="closed"):
        await first.load_paths()
    async with trio.open_nursery() as nursery:
        second = SqliteStore(config, Registry())
        await nursery.start(second.run)
        assert await second.load_paths() == ["p.empty", "p.one"]
        assert rows(await read_one(second, "p.one")) == [(BASE, 1.0, 7.0, 7.0, 7.0)]
        await second.write(batch(snap("p.one", BASE, total=1.0), snap("p.two", BASE)))
        assert rows(await read_one(second, "p.one")) == [(BASE, 2.0, 8.0, 1.0, 7.0)]
        assert await second.load_paths() == ["p.empty", "p.one", "p.two"]
        nursery.cancel_scope.cancel()


async def test_windows_past_their_period_are_hidden_then_their_blocks_removed(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    clock = FakeClock(NOW)
    registry = Registry()
    store = SqliteStore(config_at(tmp_path), registry, clock=clock)
    await nursery.start(store.run)
    # Inside a fine block and on the coarse grid, so `old - 10` and `old` share a block
    # whatever the hour.
    span = BLOCK_WINDOWS * FINE.precision
    aligned = math.lcm(span, COARSE.precision)
    now = BASE - BASE % aligned + 5 * COARSE.precision
    old = now - FINE.period
    await store.write(
        batch(
            snap("x", old - 10),
            snap("x", old),
            snap("x", old, resolution=COARSE),
            snap("y", old + 20),
        )
    )
    clock.now = now
    assert (await read_one(store, "x", start=old - span)).times.tolist() == [old]
    assert (await read_one(store, "x", COARSE, start=old - span)).times.tolist() == [old]
    assert (await read_one(store, "y", start=old - span)).times.tolist() == [old + 20]
    assert await store.expire() == 0

    clock.now = now + span + 20
    assert await store.expire() >= 2
    assert len(await read_one(store, "x", start=old - span)) == 0
    assert (await read_one(store, "x", COARSE, start=old - span)).times.tolist() == [old]
    assert registry.value("store_blocks_expired", store="sqlite") >= 2
    database = sqlite3.connect(config_at(tmp_path).path)
    assert database.execute("SELECT count(*) FROM block WHERE precision = 10").fetchone() == (0,)
    database.close()


async def test_expiry_runs_periodically(tmp_path: Path, mock_clock: trio.testing.MockClock) -> None:
    """Trio's clock is moved by hand: an autojumping clock would also jump while a
    worker thread runs, and time out the wait below."""
    clock = FakeClock(NOW)
    registry = Registry()
    store = SqliteStore(config_at(tmp_path, expire_interval=60), registry, clock=clock)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        await store.write(batch(snap("e", BASE - FINE.period)))
        clock.now = BASE + BLOCK_WINDOWS * FINE.precision + 1
        mock_clock.jump(61)
        deadline = time.monotonic() + 10
        while not registry.value("store_blocks_expired", store="sqlite"):
            assert time.monotonic() < deadline
            await trio.lowlevel.checkpoint()
        nursery.cancel_scope.cancel()


async def test_reads_do_not_wait_for_a_big_write(tmp_path: Path, nursery: trio.Nursery) -> None:
    store = SqliteStore(config_at(tmp_path), Registry())
    await nursery.start(store.run)
    await store.write(batch(snap("before", BASE, total=3.0)))
    paths = [f"big.p{i:05d}" for i in range(20_000)]
    big = batch_of(snap(path, BASE + 10 * step) for step in range(15) for path in paths)
    done = trio.Event()

    async def write_big() -> None:
        await store.write(big)
        done.set()

    nursery.start_soon(write_big)
    reads_during_write = 0
    while not done.is_set():
        assert rows(await read_one(store, "before")) == [(BASE, 1.0, 3.0, 3.0, 3.0)]
        seen = await read_one(store, "big.p00007")
        assert len(seen) in (0, 15)
        reads_during_write += not done.is_set()
    assert reads_during_write > 0
    assert len(await read_one(store, "big.p19999")) == 15


async def test_sqlite_errors_raise_store_unavailable(tmp_path: Path, nursery: trio.Nursery) -> None:
    registry = Registry()
    config = config_at(tmp_path, busy_timeout=0)
    store = SqliteStore(config, registry)
    await nursery.start(store.run)
    other = sqlite3.connect(config.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailable, match="write failed: database is locked"):
            await store.write(batch(snap("locked", BASE)))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert registry.value("store_errors", store="sqlite", op="write") == 1
    await store.write(batch(snap("locked", BASE)))
    assert await store.load_paths() == ["locked"]


async def test_unopenable_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = SqliteStore(SqliteStoreConfig(path=str(blocker / "cyanite.db")), Registry())
    with pytest.raises(StoreUnavailable, match="cannot open SQLite store"):
        await store.run()


async def test_many_paths_assigned_ids_across_batches(store: SqliteStore) -> None:
    for round_ in range(3):
        await store.write(
            batch(*(snap(f"ids.r{round_}.p{i}", BASE, total=float(i)) for i in range(300)))
        )
    found = await read_windows(store, [f"ids.r2.p{i}" for i in range(300)], FINE, BASE, NOW)
    assert [found[f"ids.r2.p{i}"].values(Aggregate.SUM).tolist() for i in (0, 299)] == [
        [0.0],
        [299.0],
    ]
    assert len(await store.load_paths()) == 900


def table_rows(path: str, table: str) -> int:
    with sqlite3.connect(path) as database:
        (count,) = database.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(count)


async def test_writes_go_to_recent_and_compaction_merges_them_into_blocks(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    config = config_at(tmp_path, compact_after_writes=3)
    store, registry = await started(nursery, config)
    await store.write(batch(snap("c.a", BASE, total=1.0), snap("c.b", BASE + 10)))
    await store.write(batch(snap("c.a", BASE, total=2.0), snap("c.a", BASE + 10, total=5.0)))
    # One row per write and group of path ids.
    assert (table_rows(config.path, "recent"), table_rows(config.path, "block")) == (2, 0)
    before = rows(await read_one(store, "c.a"))
    assert before == [(BASE, 2.0, 3.0, 1.0, 2.0), (BASE + 10, 1.0, 5.0, 5.0, 5.0)]

    await store.write(batch(snap("c.b", BASE + 20, total=7.0)))
    await wait_for_count(registry, "store_compactions", 1)
    assert (table_rows(config.path, "recent"), table_rows(config.path, "block")) == (0, 2)
    assert rows(await read_one(store, "c.a")) == before
    assert [w[0] for w in rows(await read_one(store, "c.b"))] == [BASE + 10, BASE + 20]


async def test_a_window_merges_across_block_and_recent(store: SqliteStore) -> None:
    await store.write(batch(snap("m.split", BASE, total=4.0), snap("m.split", BASE + 10)))
    await store.expire()  # compacts first
    await store.write(batch(snap("m.split", BASE, total=6.0), snap("m.split", BASE + 20)))
    assert rows(await read_one(store, "m.split")) == [
        (BASE, 2.0, 10.0, 4.0, 6.0),
        (BASE + 10, 1.0, 1.0, 1.0, 1.0),
        (BASE + 20, 1.0, 1.0, 1.0, 1.0),
    ]


async def test_a_window_written_in_many_parts_folds_instead_of_growing_its_block(
    store: SqliteStore, tmp_path: Path
) -> None:
    for part in range(3 * BLOCK_WINDOWS):
        value = float(part)
        await store.write(batch(snap("parts", BASE, total=value, low=value, high=value)))
        if part % 8 == 7:
            await store.expire()  # compacts first
    await store.expire()
    (largest,) = (
        sqlite3.connect(store.config.path).execute("SELECT max(length(data)) FROM block").fetchone()
    )
    assert largest <= 2 * BLOCK_WINDOWS * RECORD.itemsize
    parts = 3 * BLOCK_WINDOWS
    assert rows(await read_one(store, "parts")) == [
        (BASE, float(parts), float(sum(range(parts))), 0.0, float(parts - 1))
    ]


async def test_recent_writes_are_read_and_compacted_after_a_restart(tmp_path: Path) -> None:
    config = config_at(tmp_path, compact_after_writes=2)
    async with trio.open_nursery() as nursery:
        first = SqliteStore(config, Registry())
        await nursery.start(first.run)
        await first.write(batch(snap("r.a", BASE, total=1.0)))
        nursery.cancel_scope.cancel()
    assert table_rows(config.path, "recent") == 1
    async with trio.open_nursery() as nursery:
        second, registry = await started(nursery, config)
        assert rows(await read_one(second, "r.a")) == [(BASE, 1.0, 1.0, 1.0, 1.0)]
        await wait_for_count(registry, "store_compactions", 1)
        assert table_rows(config.path, "recent") == 0
        await second.write(batch(snap("r.a", BASE, total=2.0)))
        await second.write(batch(snap("r.a", BASE + 10, total=3.0)))
        await wait_for_count(registry, "store_compactions", 2)
        assert table_rows(config.path, "recent") == 0
        assert rows(await read_one(second, "r.a")) == [
            (BASE, 2.0, 3.0, 1.0, 2.0),
            (BASE + 10, 1.0, 3.0, 3.0, 3.0),
        ]
        nursery.cancel_scope.cancel()


async def wait_for_count(registry: Registry, counter: str, count: int) -> None:
    with trio.fail_after(10):
        await wait_until(lambda: registry.value(counter, store="sqlite") >= count)


async def started(nursery: trio.Nursery, config: SqliteStoreConfig) -> tuple[SqliteStore, Registry]:
    """A running store and the registry of its counters."""
    registry = Registry()
    store = SqliteStore(config, registry)
    await nursery.start(store.run)
    return store, registry


async def test_a_failed_compaction_is_retried_and_loses_nothing(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    config = config_at(tmp_path, busy_timeout=0)
    store, registry = await started(nursery, config)
    await store.write(batch(snap("f.a", BASE, total=1.0)))
    other = sqlite3.connect(config.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailable, match="expire failed"):
            await store.expire()  # the compaction before it fails on the lock too
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert registry.value("store_errors", store="sqlite", op="compact") == 1
    assert rows(await read_one(store, "f.a")) == [(BASE, 1.0, 1.0, 1.0, 1.0)]
    await store.expire()
    assert (table_rows(config.path, "recent"), table_rows(config.path, "block")) == (0, 1)
    assert rows(await read_one(store, "f.a")) == [(BASE, 1.0, 1.0, 1.0, 1.0)]


async def test_a_task_of_its_own_copies_each_write_into_the_file(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    """The file read as immutable ignores the write-ahead log: it holds a write only once
    a checkpoint has copied it there, which the writer alone would not do for one this
    small."""
    config = config_at(tmp_path)
    store, registry = await started(nursery, config)
    await store.write(batch(snap("k.a", BASE), snap("k.b", BASE)))
    await wait_for_count(registry, "store_checkpoints", 1)
    with sqlite3.connect(f"file:{config.path}?immutable=1", uri=True) as file_only:
        assert file_only.execute("SELECT count(*) FROM recent").fetchone() == (1,)


async def test_compaction_waits_for_writes_to_pause_until_recent_is_full(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    config = config_at(tmp_path, compact_after_writes=1, compact_quiet=600)
    store, registry = await started(nursery, config)
    for step in range(MAX_RECENT_WRITES - 1):
        await store.write(batch(snap("q.a", BASE + 10 * step)))
    await trio.sleep(0.2)
    assert registry.value("store_compactions", store="sqlite") == 0
    assert table_rows(config.path, "recent") == MAX_RECENT_WRITES - 1

    await store.write(batch(snap("q.a", BASE + 10 * MAX_RECENT_WRITES)))
    await wait_for_count(registry, "store_compactions", 1)
    assert table_rows(config.path, "recent") == 0
    assert len(rows(await read_one(store, "q.a"))) == MAX_RECENT_WRITES


async def test_batches_keyed_by_one_growing_table_keep_their_paths_apart(
    store: SqliteStore,
) -> None:
    """As the engine's batches are: keys into a table that gains paths between writes,
    some of which the store already knows under its own ids."""
    await store.write(batch(snap("g.known", BASE, total=1.0)))
    table = PathTable(["g.a"])
    await store.write(keyed_by(table, snap("g.a", BASE, total=2.0)))
    await store.write(
        keyed_by(table, snap("g.b", BASE, total=3.0), snap("g.known", BASE + 10, total=4.0))
    )
    await store.write(keyed_by(table, snap("g.a", BASE + 10, total=5.0)))
    assert table.names == ["g.a", "g.b", "g.known"]
    assert [w[2] for w in rows(await read_one(store, "g.a"))] == [2.0, 5.0]
    assert [w[2] for w in rows(await read_one(store, "g.b"))] == [3.0]
    assert [w[2] for w in rows(await read_one(store, "g.known"))] == [1.0, 4.0]


def keyed_by(table: PathTable, *snapshots: Snapshot) -> SnapshotBatch:
    """`snapshots` named by keys into `table`, which gains the paths it lacks."""
    loose = batch(*snapshots)
    for name in loose.table.names:
        if name not in table.names:
            table.names.append(name)
    loose.keys = np.array([table.names.index(path) for path in loose.path_names()])
    loose.table = table
    return loose
