"""The server on a three-node Cassandra cluster with replication factor 3, writing at
QUORUM: one node stopped in the middle of ingestion and started again loses nothing, reads
are answered all along, and the server's counters show the node going and coming."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
import trio
from cassandra.cluster import Cluster

from cyanite_py.config import Config
from cyanite_py.counters import Registry
from cyanite_py.model import Aggregate, Resolution, Series
from cyanite_py.store.base import StoreUnavailable
from cyanite_py.store.cassandra.config import CassandraStoreConfig
from cyanite_py.store.cassandra.store import CassandraStore
from tests.fixtures_cassandra import services, split_hosts
from tests.helpers import Running, now, running_server, server_config, wait_until

pytestmark = pytest.mark.cassandra_cluster

PATHS = 200
STOPPED_NODE = 3
ROUNDS_BEFORE_STOP = 10
ROUNDS_AFTER_RETURN = 10


@pytest.fixture
def cluster_keyspace(cassandra_cluster: str) -> Iterator[str]:
    """A keyspace name of the test's own (the server creates it), dropped afterwards."""
    name = f"cluster_{uuid.uuid4().hex[:16]}"
    yield name
    hosts, port = split_hosts(cassandra_cluster)
    cluster = Cluster(hosts, port=port)
    try:
        cluster.connect().execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=60)
    finally:
        cluster.shutdown()


def cluster_config(hosts: str, keyspace: str) -> Config:
    cluster, port = split_hosts(hosts)
    return server_config(
        store={
            "type": "cassandra",
            "cluster": cluster,
            "port": port,
            "keyspace": keyspace,
            "replication_factor": 3,
            "write_consistency": "QUORUM",
            "read_consistency": "QUORUM",
            "request_timeout": "5s",
        },
        engine={"rules": {"default": ["10s:1d"]}},
        writer={"retry_max": 1.0, "shutdown_timeout": 60},
    )


def hosts_up(s: Running) -> float:
    return next(
        gauge.read()
        for gauge in s.registry.gauges.values()
        if gauge.name == "store_cassandra_hosts_up"
    )


WAIT_SECONDS = 120
"""How long the cluster may take to notice a node going or coming back."""


async def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Until `condition()` holds, failing with `what` after `WAIT_SECONDS`."""
    with trio.move_on_after(WAIT_SECONDS):
        await wait_until(condition, 0.2)
        return
    pytest.fail(f"not within {WAIT_SECONDS} s: {what}")


async def read_back(
    store: CassandraStore, paths: list[str], start: int, end: int
) -> dict[str, Series]:
    """Every path's counts; a replica just back may time out while it catches up (on a
    machine this loaded, for seconds), so a read that fails is tried again."""
    with trio.fail_after(120):
        while True:
            try:
                return await store.read(paths, Resolution(10, 86400), start, end, Aggregate.COUNT)
            except StoreUnavailable:
                await trio.sleep(1)


class Ingestion:
    """Rounds of one point per path, each in the next 10 s window, sent until told to stop,
    while a reader asks for the series all along."""

    def __init__(self, server: Running, start: int) -> None:
        self.server = server
        self.start = start
        self.rounds = 0
        self.reads: list[int] = []
        self.stop_after: int | None = None

    async def send(self) -> None:
        while self.stop_after is None or self.rounds < self.stop_after:
            t = self.start + 10 * self.rounds
            await self.server.send_lines("".join(f"clu.p{i:03d} 1 {t}\n" for i in range(PATHS)))
            self.rounds += 1
            await trio.sleep(0.3)

    async def read(self, done: trio.Event) -> None:
        while not done.is_set():
            response = await self.server.http.get(
                "/metrics",
                params={"path": "clu.p000", "from": str(self.start), "agg": "count"},
            )
            self.reads.append(response.status_code)
            await trio.sleep(0.5)


async def test_a_node_stopped_during_ingestion_loses_nothing(
    cassandra_cluster: str, cassandra_cluster_managed: bool, cluster_keyspace: str
) -> None:
    if not cassandra_cluster_managed:
        pytest.skip("the cluster is not one whose nodes scripts/services stops and starts")
    config = cluster_config(cassandra_cluster, cluster_keyspace)
    start = now() - 7200
    start -= start % 10
    async with running_server(config) as s:
        await wait_for(lambda: hosts_up(s) == 3, "the driver sees three hosts up")
        ingestion = Ingestion(s, start)
        done = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ingestion.read, done)
            nursery.start_soon(ingestion.send)
            await wait_for(lambda: ingestion.rounds >= ROUNDS_BEFORE_STOP, "rounds sent")
            await trio.to_thread.run_sync(services, "stop", "cassandra-cluster", STOPPED_NODE)
            await wait_for(
                lambda: s.registry.value("store_cassandra_hosts_down") >= 1, "a host seen down"
            )
            await wait_for(lambda: hosts_up(s) == 2, "two hosts up")
            reads_while_down = len(ingestion.reads)
            written_while_down = s.registry.total("store_snapshots_written")
            await wait_for(
                lambda: s.registry.total("store_snapshots_written") > written_while_down + PATHS,
                "writes at QUORUM with a node down",
            )
            await trio.to_thread.run_sync(services, "start", "cassandra-cluster", STOPPED_NODE)
            await wait_for(lambda: hosts_up(s) == 3, "the stopped host seen up again")
            assert len(ingestion.reads) > reads_while_down
            ingestion.stop_after = ingestion.rounds + ROUNDS_AFTER_RETURN
            await wait_for(lambda: ingestion.rounds >= (ingestion.stop_after or 0), "last rounds")
            done.set()
        assert s.registry.value("store_cassandra_reconnects") >= 1
        assert set(ingestion.reads) == {200}, ingestion.reads

    # Read back from the store itself, at QUORUM: every window of every path, count 1.
    assert isinstance(config.store, CassandraStoreConfig)
    store = CassandraStore(config.store, Registry())
    paths = [f"clu.p{i:03d}" for i in range(PATHS)]
    end = start + 10 * ingestion.rounds
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        found = await read_back(store, paths, start, end)
        nursery.cancel_scope.cancel()
    assert sorted(found) == paths
    for path in paths:
        counts = found[path].values
        assert counts.tolist() == [1.0] * ingestion.rounds, path  # none lost, none twice
