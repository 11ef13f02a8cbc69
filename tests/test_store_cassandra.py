"""The Cassandra store against a real node: the shared contract, Cassandra's own
behaviour (replacing writes, TTL, paging, errors counted), and a node stopped under load."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
from cassandra.cluster import Session

from cyanite_py.counters import Registry
from cyanite_py.model import Resolution, SnapshotBatch
from cyanite_py.store.base import StoreUnavailable
from cyanite_py.store.cassandra import CassandraStore
from cyanite_py.store.cassandra_config import CassandraStoreConfig, schema_cql
from cyanite_py.store.writer import StoreWriter, StoreWriterConfig
from tests.fixtures_cassandra import SERVICES, services, store_config
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


@pytest.fixture
async def store(
    nursery: trio.Nursery, cassandra_hosts: str, cassandra_keyspace: str
) -> AsyncIterator[CassandraStore]:
    store = CassandraStore(store_config(cassandra_hosts, cassandra_keyspace), Registry())
    await nursery.start(store.run)
    assert store.connected
    yield store


class TestCassandraStore(StoreContract):
    async def test_rewritten_window_is_replaced(self, store: CassandraStore) -> None:
        await store.write(batch(snap("r", BASE, count=2, total=4.0, low=1.0, high=3.0)))
        await store.write(batch(snap("r", BASE, count=1, total=5.0, low=5.0, high=5.0)))
        assert rows(await read_one(store, "r")) == [(BASE, 1.0, 5.0, 5.0, 5.0)]

    async def test_reads_follow_every_page(self, store: CassandraStore) -> None:
        """More windows than the driver's page of 5000 rows."""
        first = NOW - NOW % FINE.precision - 80_000
        times = [first + 10 * i for i in range(7000)]
        await store.write(batch(*(snap("paged", t, total=float(t)) for t in times)))
        windows = await read_one(store, "paged", start=0, end=NOW + 1)
        assert windows.times.tolist() == times

    async def test_rows_expire_after_their_period(
        self, store: CassandraStore, cassandra_session: Session, cassandra_keyspace: str
    ) -> None:
        hour = Resolution(10, 3600)
        await store.write(batch(snap("ttl", BASE, resolution=hour), snap("ttl", BASE)))
        found = cassandra_session.execute(
            f"SELECT period, TTL(point) FROM {cassandra_keyspace}.metric WHERE path = 'ttl'"
            " AND precision = 10 AND period IN (3600, 86400)"
        )
        ttls = {period: ttl for period, ttl in found}
        assert 3500 < ttls[3600] <= 3600
        assert 86300 < ttls[86400] <= 86400

    async def test_statements_are_counted(
        self, cassandra_hosts: str, nursery: trio.Nursery, cassandra_keyspace: str
    ) -> None:
        registry = Registry()
        store = CassandraStore(store_config(cassandra_hosts, cassandra_keyspace), registry)
        await nursery.start(store.run)
        await store.write(batch(snap("c.one", BASE), snap("c.two", BASE), new_paths=("c.one",)))
        await store.read(["c.one", "c.two", "c.three"], FINE, BASE, NOW, "mean")
        assert registry.value("store_cassandra_statements", op="write") == 3
        assert registry.value("store_cassandra_statements", op="read") == 3
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
        cassandra_session.execute(f"DROP TABLE {cassandra_keyspace}.metric", timeout=60)
        with pytest.raises(StoreUnavailable):
            await store.write(batch(snap("gone", BASE)))
        with pytest.raises(StoreUnavailable):
            await store.read(["gone"], FINE, BASE, NOW, "mean")
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
        await store.read(["x"], FINE, BASE, NOW, "mean")
    with pytest.raises(StoreUnavailable):
        await store.load_paths()


def test_schema_file_is_the_default_schema() -> None:
    assert (ROOT / "schema" / "cassandra.cql").read_text() == schema_cql("metric", 1)


def test_schema_uses_time_window_compaction_and_the_replication_factor() -> None:
    cql = schema_cql("metrics_eu", 3)
    assert "CREATE KEYSPACE IF NOT EXISTS metrics_eu" in cql
    assert "'replication_factor': 3" in cql
    assert "TimeWindowCompactionStrategy" in cql
    assert "DateTiered" not in cql and "read_repair_chance" not in cql


def test_config_defaults_and_validation() -> None:
    config = CassandraStoreConfig()
    assert (config.cluster, config.port, config.keyspace) == (["127.0.0.1"], 9042, "metric")
    assert (config.read_consistency, config.write_consistency) == ("ONE", "ONE")
    assert config.create_schema
    assert CassandraStoreConfig(request_timeout="1m").request_timeout == 60  # type: ignore[arg-type]
    for bad in (
        {"keyspace": "metric; DROP"},
        {"write_consistency": "SOME"},
        {"cluster": []},
        {"max_in_flight": 0},
        {"colour": "blue"},
    ):
        with pytest.raises(ValueError):
            CassandraStoreConfig(**bad)  # type: ignore[arg-type]


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
        while writer.buffered:
            await trio.sleep(0.2)


async def test_writer_keeps_snapshots_while_the_node_is_down(
    cassandra_service: str, cassandra_keyspace: str, nursery: trio.Nursery
) -> None:
    registry = Registry()
    store = CassandraStore(store_config(cassandra_service, cassandra_keyspace), registry)
    writer = StoreWriter(StoreWriterConfig(max_buffered=20_000, retry_max=1.0), store, registry)
    await nursery.start(store.run)
    await nursery.start(writer.run)
    writer.submit(_numbered(0, 1000))
    await _until_written(writer, 60)

    await trio.to_thread.run_sync(services, "stop")
    for start in range(1000, 11_000, 2000):
        writer.submit(_numbered(start, 2000))
        await trio.sleep(0.5)
    assert writer.buffered == 10_000
    await trio.to_thread.run_sync(services, "start")
    await _until_written(writer, 120)

    assert registry.value("snapshots_dropped", reason="buffer_full") == 0
    assert registry.total("store_write_errors") > 0
    assert registry.value("store_cassandra_reconnects") >= 1
    paths = [f"fault.p{i:05d}" for i in range(11_000)]
    found = await read_windows(store, paths, FINE, BASE, NOW)
    assert {p: found[p].values("sum").tolist() for p in paths} == {
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
        writer.submit(_numbered(0, 500))
        await trio.sleep(1)
    finally:
        await trio.to_thread.run_sync(services, "start")
    await _until_written(writer, 120)
    assert store.connected
    assert registry.value("store_cassandra_connect_failures") >= 1
    found = await read_windows(store, [f"fault.p{i:05d}" for i in range(500)], FINE, BASE, NOW)
    assert len(found) == 500
