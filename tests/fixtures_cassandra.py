"""Fixtures that reach a real Cassandra.

`CASSANDRA_HOSTS` ("host:port,host:port") names a running cluster to use as it is.
Without it, the tests reach the local node on 127.0.0.1, which the session starts with
`scripts/services start cassandra` before the first test if a selected test needs it and
it is not running (see tests.local_services), and stops when it ends.

`CASSANDRA_CLUSTER_HOSTS` names a running cluster of several nodes in the same way; without
it, the tests that need one start `scripts/services start cassandra-cluster` (three nodes on
127.0.0.1-3, CQL port 9142, beside the single node) on first use and stop it at the end.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cassandra.cluster import Cluster, NoHostAvailable, Session
from cassandra.policies import ConstantReconnectionPolicy

from cyanite_py.store.cassandra.config import CassandraStoreConfig
from tests.local_services import SERVICES, START_TIMEOUT, LocalService, local, register


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def services(action: str, service: str = "cassandra", node: int | None = None) -> None:
    """Run `scripts/services ACTION SERVICE [NODE]`, failing the test with its output on
    error."""
    command = [str(SERVICES), action, service] + ([] if node is None else [str(node)])
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command[1:])} failed:\n{done.stderr}{done.stdout}")


def _local_port() -> int:
    return int(os.environ.get("CASSANDRA_PORT", "9042"))


def _local_node_answers() -> bool:
    return _answers("127.0.0.1", _local_port())


def pytest_configure(config: pytest.Config) -> None:
    """Let the session start the local node, unless `CASSANDRA_HOSTS` names a cluster."""
    if not os.environ.get("CASSANDRA_HOSTS"):
        register(config, LocalService("cassandra", "cassandra_hosts", _local_node_answers))


def split_hosts(hosts: str) -> tuple[list[str], int]:
    """`"a:9042,b:9042"` as a host list and the one port they share."""
    pairs = [item.strip().rpartition(":") for item in hosts.split(",") if item.strip()]
    ports = {int(port) for _, _, port in pairs}
    if len(ports) != 1:
        raise ValueError(f"CASSANDRA_HOSTS must share one port: {hosts!r}")
    return [host for host, _, _ in pairs], ports.pop()


def store_config(hosts: str, keyspace: str, **overrides: Any) -> CassandraStoreConfig:
    """A store configuration for `hosts` and `keyspace`, with short timeouts for tests."""
    cluster, port = split_hosts(hosts)
    settings: dict[str, Any] = {"request_timeout": 5} | overrides
    return CassandraStoreConfig(cluster=cluster, port=port, keyspace=keyspace, **settings)


@pytest.fixture(scope="session")
def cassandra_managed() -> bool:
    """Whether the node is the local one that `scripts/services` controls."""
    return not os.environ.get("CASSANDRA_HOSTS")


@pytest.fixture(scope="session")
def cassandra_hosts(cassandra_managed: bool, pytestconfig: pytest.Config) -> str:
    """`"host:port,…"` of a reachable Cassandra, the local node unless `CASSANDRA_HOSTS`
    names one."""
    if not cassandra_managed:
        return os.environ["CASSANDRA_HOSTS"]
    local(pytestconfig, "cassandra").ready()
    return f"127.0.0.1:{_local_port()}"


@pytest.fixture(scope="session")
def cassandra_cluster_managed() -> bool:
    """Whether the cluster is the local one whose nodes `scripts/services` stops and starts."""
    return not os.environ.get("CASSANDRA_CLUSTER_HOSTS")


@pytest.fixture(scope="session")
def cassandra_cluster(cassandra_cluster_managed: bool) -> Iterator[str]:
    """`"host:port,…"` of every node of a cluster, starting the local one if needed."""
    if not cassandra_cluster_managed:
        yield os.environ["CASSANDRA_CLUSTER_HOSTS"]
        return
    port = int(os.environ.get("CASSANDRA_CLUSTER_PORT", "9142"))
    nodes = int(os.environ.get("CASSANDRA_CLUSTER_NODES", "3"))
    hosts = [f"127.0.0.{node}" for node in range(1, nodes + 1)]
    started = not all(_answers(host, port) for host in hosts)
    if started:
        services("start", "cassandra-cluster")
    yield ",".join(f"{host}:{port}" for host in hosts)
    if started:
        services("stop", "cassandra-cluster")


@pytest.fixture(scope="session")
def cassandra_session(cassandra_hosts: str) -> Iterator[Session]:
    """A plain driver session for setting up and inspecting keyspaces."""
    hosts, port = split_hosts(cassandra_hosts)
    cluster = Cluster(hosts, port=port, reconnection_policy=ConstantReconnectionPolicy(1.0, None))
    try:
        yield cluster.connect()
    finally:
        cluster.shutdown()


@pytest.fixture
def cassandra_keyspace(cassandra_session: Session) -> Iterator[str]:
    """A keyspace of the test's own, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    cassandra_session.execute(
        f"CREATE KEYSPACE {name} WITH replication ="
        " {'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    yield name
    # After a test that restarted the node, this session may still be reconnecting.
    deadline = time.monotonic() + 60
    while True:
        try:
            cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=60)
            return
        except NoHostAvailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
