"""The Cassandra store against a real node: the shared contract, Cassandra's own
behaviour (merged rewrites and retries, bounded partitions, TTL, paging, errors counted),
and a node stopped under load."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trio
from cassandra.cluster import Session

from cyanite_py.counters import Registry
from cyanite_py.model import Aggregate, Resolution, SnapshotBatch
from cyanite_py.store.base import StoreUnavailable
from cyanite_py.store.cassandra.config import CassandraStoreConfig, schema_cql
from cyanite_py.store.cassandra.fold import FOLD_MIN_ROWS, FoldQueue, fold, folded_stamp
from cyanite_py.store.cassandra.layout import BLOCK_WINDOWS, PART_WINDOWS
from cyanite_py.store.cassandra.store import CassandraStore
from cyanite_py.store.writer import StoreWriter, StoreWriterConfig
from tests.fixtures_cassandra import services, store_config
from tests.helpers import wait_until
from tests.local_services import SERVICES
from tests.store_contract import (
    BASE,
    FINE,
    NOW,
    StoreContract,
    batch,
    read_one,
    read_windows,
    rows,
    snap,
)

pytestmark = pytest.mark.cassandra

ROOT = Path(__file__).resolve().parent.parent
OLD_BLOCK = (BASE - 6000) - (BASE - 6000) % (FINE.precision * BLOCK_WINDOWS)
"""A 10 s block over for more than an hour."""


@pytest.fixture
async def store(
    nursery: trio.Nursery, cassandra_hosts: str, cassandra_keyspace: str
) -> CassandraStore:
    store = CassandraStore(store_config(cassandra_hosts, cassandra_keyspace), Registry())
    await nursery.start(store.run)
    assert store.connected
    return store


class TestCassandraStore(StoreContract):
    async def test_rewritten_window_merges(self, store: CassandraStore) -> None:
        await store.write(batch(snap("r", BASE, count=2, total=4.0, low=1.0, high=3.0)))
        await store.write(batch(snap("r", BASE, count=1, total=5.0, low=5.0, high=5.0)))
        assert rows(await read_one(store, "r")) == [(BASE, 3.0, 9.0, 1.0, 5.0)]

    async def test_a_retried_batch_is_not_counted_twice(self, store: CassandraStore) -> None:
        """The writer passes the same batch again after a write that failed, or was
        cancelled, after some of its rows landed."""
        paths = [f"retry.p{i:04d}" for i in range(3000)]
        again = batch(*(snap(path, BASE, count=2, total=4.0) for path in paths))
        with trio.move_on_after(0):
            await store.write(again)  # cancelled once its first requests are out
        await store.write(again)
        found = await read_windows(store, paths)
        assert {rows(found[path])[0] for path in paths} == {(BASE, 2.0, 4.0, 2.0, 2.0)}
        # Written again after it succeeded, the same batch is new data.
        await store.write(again)
        assert rows(await read_one(store, paths[0])) == [(BASE, 4.0, 8.0, 2.0, 2.0)]

    async def test_reads_follow_every_page(self, store: CassandraStore) -> None:
        """More rows than the driver's page of 5000, written one window a write."""
        first = NOW - NOW % FINE.precision - 80_000
        times = [first + 10 * i for i in range(6000)]
        for chunk in range(0, len(times), 1000):
            # Every window alone in its own write, so each is a row of its own.
            for offset in range(10):
                part = times[chunk + offset : chunk + 1000 : 10]
                await store.write(batch(*(snap("paged", t, total=float(t)) for t in part)))
        windows = await read_one(store, "paged", start=0, end=NOW + 1)
        assert windows.times.tolist() == times
        assert windows.values(Aggregate.SUM).tolist() == [float(t) for t in times]

    async def test_partitions_are_bounded_in_time(
        self, store: CassandraStore, cassandra_session: Session, cassandra_keyspace: str
    ) -> None:
        span = FINE.precision * PART_WINDOWS
        times = [BASE - BASE % span - 20 + 10 * i for i in range(4)]
        await store.write(batch(*(snap("bounded", t, total=float(t)) for t in times)))
        assert rows(await read_one(store, "bounded", start=times[0], end=times[-1] + 1)) == [
            (t, 1.0, float(t), float(t), float(t)) for t in times
        ]
        expected = [times[0] - times[0] % span, times[-1] - times[-1] % span]
        found = cassandra_session.execute(
            f"SELECT part, start FROM {cassandra_keyspace}.block WHERE path = 'bounded'"
            f" AND precision = 10 AND part IN ({expected[0]}, {expected[1]})"
        )
        assert sorted({part for part, _ in found}) == expected
        assert expected[1] - expected[0] == span

    async def test_a_replayed_series_is_packed_into_blocks(
        self, cassandra_hosts: str, nursery: trio.Nursery, cassandra_keyspace: str
    ) -> None:
        registry = Registry()
        store = CassandraStore(store_config(cassandra_hosts, cassandra_keyspace), registry)
        await nursery.start(store.run)
        first = BASE - BASE % (FINE.precision * BLOCK_WINDOWS)
        times = [first + 10 * i for i in range(3 * BLOCK_WINDOWS)]
        await store.write(batch(*(snap("packed", t, total=float(t)) for t in times)))
        assert registry.value("store_cassandra_rows", op="write") == 3
        assert registry.value("store_cassandra_statements", op="write") == 1
        windows = await read_one(store, "packed", start=first, end=times[-1] + 1)
        assert windows.values(Aggregate.SUM).tolist() == [float(t) for t in times]

    async def test_a_block_written_in_parts_is_folded_into_one_exact_row(
        self,
        cassandra_hosts: str,
        nursery: trio.Nursery,
        cassandra_keyspace: str,
        cassandra_session: Session,
    ) -> None:
        registry = Registry()
        config = store_config(cassandra_hosts, cassandra_keyspace)
        store = CassandraStore(config, registry)
        other = CassandraStore(config, Registry())  # a second server writing the same block
        await nursery.start(store.run)
        await nursery.start(other.run)
        first = OLD_BLOCK
        for i in range(FOLD_MIN_ROWS + 2):
            # Every part holds window 0 again, and a window of its own.
            await store.write(
                batch(snap("fold", first, total=float(i)), snap("fold", first + 10 * (i + 1)))
            )
        await other.write(batch(snap("fold", first, count=2, total=100.0, low=-5.0, high=60.0)))
        before = rows(await read_one(store, "fold", start=first, end=first + 2560))
        assert before[0] == (first, FOLD_MIN_ROWS + 4.0, 145.0, -5.0, 60.0)

        assert await store.fold_due(first + 10) == 1  # while the block is still open
        assert rows(await read_one(store, "fold", start=first, end=first + 2560)) == before
        query = (
            f"SELECT stamp FROM {cassandra_keyspace}.block WHERE path = 'fold'"
            f" AND precision = 10 AND part = {first - first % (10 * PART_WINDOWS)}"
            f" AND start = {first}"
        )
        assert len(cassandra_session.execute(query).all()) == 2  # folded, and the other's
        assert registry.value("store_cassandra_folds") == 1
        assert registry.value("store_cassandra_folded_rows") == FOLD_MIN_ROWS + 2
        assert await store.fold_due(first + 10) == 0

        # More parts fold again, with the folded row, which is the store's own too.
        for _ in range(FOLD_MIN_ROWS - 1):
            await store.write(batch(snap("fold", first, total=1.0)))
        assert await store.fold_due(first + 10) == 1
        after = rows(await read_one(store, "fold", start=first, end=first + 2560))
        assert after[0] == (first, 2 * FOLD_MIN_ROWS + 3.0, 144.0 + FOLD_MIN_ROWS, -5.0, 60.0)
        assert after[1:] == before[1:]
        assert registry.value("store_cassandra_folded_rows") == 2 * FOLD_MIN_ROWS + 2
        assert len(cassandra_session.execute(query).all()) == 2
        # Once the block is over, a lone folded row is forgotten, not folded again.
        assert await store.fold_due(time.time()) == 0
        queued = registry.gauges[("store_cassandra_fold_queue", ())].read()
        assert queued == 0

    async def test_a_block_of_few_parts_is_left_as_it_is(self, store: CassandraStore) -> None:
        for i in range(3):
            await store.write(batch(snap("few", OLD_BLOCK + 10 * i)))
        assert await store.fold_due(time.time()) == 0
        assert len(await read_one(store, "few", start=OLD_BLOCK, end=OLD_BLOCK + 30)) == 3

    async def test_a_row_of_equal_counts_stores_one_count(
        self, store: CassandraStore, cassandra_session: Session, cassandra_keyspace: str
    ) -> None:
        first = OLD_BLOCK
        await store.write(batch(*(snap("even", first + 10 * i, count=3) for i in range(5))))
        await store.write(batch(*(snap("uneven", first + 10 * i, count=i + 1) for i in range(5))))
        await store.write(batch(snap("even", first + 20, count=2, total=4.0)))
        stored = {
            path: [
                len(row.counts)
                for row in cassandra_session.execute(
                    f"SELECT counts FROM {cassandra_keyspace}.block WHERE path = %s"
                    f" AND precision = 10 AND part = {first - first % (10 * PART_WINDOWS)}",
                    (path,),
                )
            ]
            for path in ("even", "uneven")
        }
        assert stored == {"even": [8, 8], "uneven": [40]}
        windows = await read_one(store, "even", start=first, end=first + 50)
        assert windows.values(Aggregate.COUNT).tolist() == [3.0, 3.0, 5.0, 3.0, 3.0]
        assert windows.values(Aggregate.MEAN).tolist() == [1 / 3, 1 / 3, 5 / 5, 1 / 3, 1 / 3]
        uneven = await read_one(store, "uneven", start=first, end=first + 50)
        assert uneven.values(Aggregate.COUNT).tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]

    async def test_parts_of_a_window_in_one_write_are_stored_merged(
        self, store: CassandraStore, cassandra_session: Session, cassandra_keyspace: str
    ) -> None:
        parts = [snap("coalesced", OLD_BLOCK, total=float(i), low=i, high=i) for i in (3, 1, 2)]
        await store.write(batch(*parts, snap("coalesced", OLD_BLOCK + 10)))
        (stored,) = cassandra_session.execute(
            f"SELECT offsets, sums FROM {cassandra_keyspace}.block WHERE path = 'coalesced'"
            f" AND precision = 10 AND part = {OLD_BLOCK - OLD_BLOCK % (10 * PART_WINDOWS)}"
        )
        assert list(stored.offsets) == [0, 1]
        assert np.frombuffer(stored.sums, "<f8").tolist() == [6.0, 1.0]
        found = rows(await read_one(store, "coalesced", start=OLD_BLOCK, end=OLD_BLOCK + 20))
        assert found == [(OLD_BLOCK, 3.0, 6.0, 1.0, 3.0), (OLD_BLOCK + 10, 1.0, 1.0, 1.0, 1.0)]

    async def test_rows_expire_after_their_period(
        self, store: CassandraStore, cassandra_session: Session, cassandra_keyspace: str
    ) -> None:
        hour = Resolution(10, 3600)
        await store.write(batch(snap("ttl", BASE, resolution=hour)))
        await store.write(batch(snap("ttl", BASE)))
        found = cassandra_session.execute(
            f"SELECT stamp, TTL(sums) FROM {cassandra_keyspace}.block WHERE path = 'ttl'"
            " AND precision = 10 AND part = %s",
            (BASE - BASE % (10 * PART_WINDOWS),),
        )
        ttls = sorted(ttl for _, ttl in found)
        assert len(ttls) == 2
        assert 3500 < ttls[0] <= 3600
        assert 86300 < ttls[1] <= 86400

    async def test_statements_are_counted(
        self, cassandra_hosts: str, nursery: trio.Nursery, cassandra_keyspace: str
    ) -> None:
        registry = Registry()
        store = CassandraStore(store_config(cassandra_hosts, cassandra_keyspace), registry)
        await nursery.start(store.run)
        await store.write(batch(snap("c.one", BASE), snap("c.two", BASE), new_paths=("c.one",)))
        await store.read(["c.one", "c.two", "c.three"], FINE, BASE, NOW, Aggregate.MEAN)
        # One batch of two block rows, one path row; one read for the three paths.
        assert registry.value("store_cassandra_statements", op="write") == 2
        assert registry.value("store_cassandra_statements", op="read") == 1
        assert registry.value("store_cassandra_rows", op="write") == 2
        assert registry.value("store_cassandra_rows", op="read") == 2
        assert registry.value("store_snapshots_written", store="cassandra") == 2

    async def test_failed_requests_raise_unavailable_and_are_counted(
        self,
        cassandra_hosts: str,
        cassandra_keyspace: str,
        cassandra_session: Session,
        nursery: trio.Nursery,
    ) -> None:
        registry = Registry()
        store = CassandraStore(store_config(cassandra_hosts, cassandra_keyspace), registry)
        await nursery.start(store.run)
        cassandra_session.execute(f"DROP TABLE {cassandra_keyspace}.block", timeout=60)
        with pytest.raises(StoreUnavailable):
            await store.write(batch(snap("gone", BASE)))
        with pytest.raises(StoreUnavailable):
            await store.read(["gone"], FINE, BASE, NOW, Aggregate.MEAN)
        assert registry.total("store_cassandra_write_errors") == 1
        assert registry.total("store_cassandra_read_errors") == 1


async def test_unreachable_at_start_reports_started_and_refuses_requests(
    nursery: trio.Nursery,
) -> None:
    registry = Registry()
    store = CassandraStore(store_config(f"127.0.0.1:{_closed_port()}", "metric"), registry)
    with trio.fail_after(30):
        await nursery.start(store.run)
    assert not store.connected
    assert registry.value("store_cassandra_connect_failures") == 1
    with pytest.raises(StoreUnavailable, match="not connected"):
        await store.write(batch(snap("x", BASE)))
    with pytest.raises(StoreUnavailable):
        await store.read(["x"], FINE, BASE, NOW, Aggregate.MEAN)
    with pytest.raises(StoreUnavailable):
        await store.load_paths()


def test_a_fold_done_twice_folds_nothing_more() -> None:
    """A fold retried after a timeout that had landed finds only its merged row."""
    key = ("p", 10, 0, 0)
    own = {11, 12, 13}
    # offsets, counts, sums, mins, maxs, and no last points (a row written before them)
    one = (b"\x00", *(np.array([1.0]).tobytes(),) * 4, None, None)
    merged = fold(key, 3600, own, [(11, *one, 5), (12, *one, 7), (99, *one, 9)])
    assert merged is not None
    row, stamps, written = merged
    assert stamps == [11, 12]
    assert written == 7
    assert row[4] == folded_stamp([12, 11])
    assert np.frombuffer(row[6], "<f8").tolist() == [2.0]
    assert row[12] == 3600
    assert fold(key, 3600, own, [(row[4], *row[5:12], written), (99, *one, 9)]) is None


def test_the_fold_queue_keeps_only_the_stamps_that_pending_blocks_may_hold() -> None:
    queue = FoldQueue(grace=0)
    row = ("p", 10, 0, 0, 0, b"", b"", b"", b"", b"", b"", b"", 60)
    later = ("p", 10, 0, 10 * BLOCK_WINDOWS, *row[4:])
    for stamp in range(FOLD_MIN_ROWS):
        queue.written([row], stamp)
    queue.written([later], 100)
    due, own = queue.due(0)  # enough parts: folded while the block is open
    assert [key for key, _ in due] == [("p", 10, 0, 0)]
    assert own == {*range(FOLD_MIN_ROWS), 100}
    assert len(queue) == 1
    queue.restore(due)  # the fold failed
    assert len(queue) == 2
    due, own = queue.due(10 * BLOCK_WINDOWS)
    assert len(due) == 1
    assert len(queue) == 1
    queue.written([later], 101)
    due, own = queue.due(20 * BLOCK_WINDOWS)
    assert due == []  # two parts of a block over: left as they are
    assert own == set()
    assert len(queue) == 0


def test_schema_file_is_the_default_schema() -> None:
    assert (ROOT / "schema" / "cassandra.cql").read_text() == schema_cql("metric", 1)


def test_schema_uses_time_window_compaction_and_the_replication_factor() -> None:
    cql = schema_cql("metrics_eu", 3)
    assert "CREATE KEYSPACE IF NOT EXISTS metrics_eu" in cql
    assert "'replication_factor': 3" in cql
    assert "TimeWindowCompactionStrategy" in cql
    assert "'compaction_window_size': '24'" in cql
    assert "'compaction_window_size': '6'" in schema_cql("m", 1, compaction_window=6 * 3600)
    assert "DateTiered" not in cql
    assert "read_repair_chance" not in cql


def test_config_defaults_and_validation() -> None:
    config = CassandraStoreConfig()
    assert (config.cluster, config.port, config.keyspace) == (["127.0.0.1"], 9042, "metric")
    assert (config.read_consistency, config.write_consistency) == ("ONE", "ONE")
    assert config.create_schema
    assert CassandraStoreConfig(request_timeout="1m").request_timeout == 60  # type: ignore[arg-type]
    bad_settings: list[dict[str, Any]] = [
        {"keyspace": "metric; DROP"},
        {"write_consistency": "SOME"},
        {"cluster": []},
        {"max_in_flight": 0},
        {"read_paths": 0},
        {"compaction_window": "90m"},
        {"colour": "blue"},
    ]
    for bad in bad_settings:
        (key,) = bad
        with pytest.raises(ValueError, match=key):
            CassandraStoreConfig(**bad)


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# A node stopped and started again under the store writer.


@pytest.fixture
def cassandra_service(cassandra_managed: bool, cassandra_hosts: str) -> str:
    """The hosts of a node that `scripts/services` can stop and start, or skip."""
    status = subprocess.run(
        [str(SERVICES), "status", "cassandra"], capture_output=True, text=True, check=False
    )
    if not cassandra_managed or "running" not in status.stdout:
        pytest.skip("the Cassandra node is not one that scripts/services started")
    return cassandra_hosts


def _numbered(start: int, count: int) -> SnapshotBatch:
    """`count` snapshots of one path each, told apart by their sum."""
    return batch(
        *(snap(f"fault.p{i:05d}", BASE, total=float(i)) for i in range(start, start + count)),
        new_paths=tuple(f"fault.p{i:05d}" for i in range(start, start + count)),
    )


async def _until_written(writer: StoreWriter, seconds: float) -> None:
    with trio.fail_after(seconds):
        await wait_until(lambda: not writer.buffered, 0.2)


async def test_writer_keeps_snapshots_while_the_node_is_down(
    cassandra_service: str, cassandra_keyspace: str, nursery: trio.Nursery
) -> None:
    registry = Registry()
    store = CassandraStore(store_config(cassandra_service, cassandra_keyspace), registry)
    writer = StoreWriter(StoreWriterConfig(max_buffered=20_000, retry_max=1.0), store, registry)
    await nursery.start(store.run)
    await nursery.start(writer.run)
    await writer.submit(_numbered(0, 1000))
    await _until_written(writer, 60)

    await trio.to_thread.run_sync(services, "stop")
    for start in range(1000, 11_000, 2000):
        await writer.submit(_numbered(start, 2000))
        await trio.sleep(0.5)
    assert writer.buffered == 10_000
    await trio.to_thread.run_sync(services, "start")
    await _until_written(writer, 120)

    assert registry.value("snapshots_dropped", reason="buffer_full") == 0
    assert registry.total("store_write_errors") > 0
    assert registry.value("store_cassandra_reconnects") >= 1
    paths = [f"fault.p{i:05d}" for i in range(11_000)]
    found = await read_windows(store, paths, FINE, BASE, NOW)
    assert {p: found[p].values(Aggregate.SUM).tolist() for p in paths} == {
        p: [float(i)] for i, p in enumerate(paths)
    }
    assert set(paths) <= set(await store.load_paths())


async def test_store_started_while_the_node_is_down_connects_later(
    cassandra_service: str, cassandra_keyspace: str, nursery: trio.Nursery
) -> None:
    registry = Registry()
    store = CassandraStore(store_config(cassandra_service, cassandra_keyspace), registry)
    writer = StoreWriter(StoreWriterConfig(retry_max=1.0), store, registry)
    await trio.to_thread.run_sync(services, "stop")
    try:
        with trio.fail_after(30):
            await nursery.start(store.run)
        assert not store.connected
        await nursery.start(writer.run)
        await writer.submit(_numbered(0, 500))
        await trio.sleep(1)
    finally:
        await trio.to_thread.run_sync(services, "start")
    await _until_written(writer, 120)
    assert store.connected
    assert registry.value("store_cassandra_connect_failures") >= 1
    found = await read_windows(store, [f"fault.p{i:05d}" for i in range(500)], FINE, BASE, NOW)
    assert len(found) == 500
