"""A connected Cassandra session and the statements the store prepares on it."""

from __future__ import annotations

from cassandra import ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    HostStateListener,
    TokenAwarePolicy,
)
from cassandra.query import PreparedStatement, tuple_factory

from cyanite_py.model import Aggregate
from cyanite_py.store.cassandra.config import CassandraStoreConfig
from cyanite_py.store.cassandra.layout import NEEDS, VALUE_COLUMNS, WRITTEN

RECONNECT_MAX_DELAY = 10.0
"""Seconds between attempts at most, so a restarted node is used again soon."""
READ_PROFILE = "cyanite_read"


class Connection:
    """A connected cluster and the statements prepared on it."""

    def __init__(self, cluster: Cluster, session: Session, keyspace: str) -> None:
        self.cluster = cluster
        self.session = session
        self.keyspace = keyspace
        self.insert_block: PreparedStatement | None = None
        self.insert_folded: PreparedStatement | None = None
        self.insert_path: PreparedStatement | None = None
        self.select_blocks: dict[Aggregate, PreparedStatement] = {}
        self.select_paths: PreparedStatement | None = None
        self.insert_path_log: PreparedStatement | None = None
        self.select_path_log: PreparedStatement | None = None
        self.select_block: PreparedStatement | None = None
        self.delete_parts: PreparedStatement | None = None

    def prepare(self) -> None:
        """Prepare every statement once (blocking: runs in a worker thread)."""
        ks, session = self.keyspace, self.session
        insert = (
            f"INSERT INTO {ks}.block (path, precision, part, start, stamp, offsets,"
            f" {', '.join(VALUE_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self.insert_block = session.prepare(f"{insert} USING TTL ?")
        self.insert_folded = session.prepare(f"{insert} USING TTL ? AND TIMESTAMP ?")
        self.insert_path = session.prepare(f"INSERT INTO {ks}.path (path) VALUES (?)")
        self.select_blocks = {
            aggregate: session.prepare(
                f"SELECT path, part, start, offsets, {', '.join(columns)} FROM {ks}.block"
                " WHERE path IN ? AND precision = ? AND part IN ? AND start >= ? AND start < ?"
            )
            for aggregate, columns in _selected().items()
        }
        self.select_paths = session.prepare(f"SELECT path FROM {ks}.path")
        self.insert_path_log = session.prepare(
            f"INSERT INTO {ks}.path_log (minute, written, path) VALUES (?, ?, ?)"
        )
        self.select_path_log = session.prepare(
            f"SELECT path FROM {ks}.path_log WHERE minute = ? AND written >= ?"
        )
        key = "path = ? AND precision = ? AND part = ? AND start = ?"
        self.select_block = session.prepare(
            f"SELECT stamp, offsets, {', '.join(VALUE_COLUMNS)}, {WRITTEN} FROM {ks}.block"
            f" WHERE {key}"
        )
        self.delete_parts = session.prepare(f"DELETE FROM {ks}.block WHERE {key} AND stamp IN ?")

    def lacks_last_columns(self) -> bool:
        """Whether the `block` table was created before windows kept their last point
        (False when there is no such table: preparing statements says so)."""
        keyspace = self.cluster.metadata.keyspaces.get(self.keyspace)
        table = None if keyspace is None else keyspace.tables.get("block")
        return table is not None and "lasts" not in table.columns

    def hosts_up(self) -> int:
        """Hosts the driver holds as up now."""
        return sum(1 for host in self.cluster.metadata.all_hosts() if host.is_up)

    def replica(self, routing_key: bytes) -> object:
        """The first replica of a partition, to group a batch by."""
        replicas = self.cluster.metadata.get_replicas(self.keyspace, routing_key)
        return replicas[0] if replicas else None


def _selected() -> dict[Aggregate, tuple[str, ...]]:
    """The value columns a read of each aggregate selects: a read of last points also
    selects each row's write time."""
    return {
        aggregate: (*columns, WRITTEN) if aggregate == Aggregate.LAST else columns
        for aggregate, columns in NEEDS.items()
    }


def connect(config: CassandraStoreConfig, listener: HostStateListener) -> Connection:
    """A session on the cluster (blocking: runs in a worker thread)."""
    profiles = {
        name: ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
            request_timeout=config.request_timeout,
            row_factory=tuple_factory,
            consistency_level=ConsistencyLevel.name_to_value[consistency],
        )
        for name, consistency in (
            (EXEC_PROFILE_DEFAULT, config.write_consistency),
            (READ_PROFILE, config.read_consistency),
        )
    }
    auth = None
    if config.username is not None:
        auth = PlainTextAuthProvider(config.username, config.password or "")
    cluster = Cluster(
        contact_points=list(config.cluster),
        port=config.port,
        protocol_version=config.protocol_version,
        auth_provider=auth,
        execution_profiles=profiles,
        reconnection_policy=ExponentialReconnectionPolicy(0.5, RECONNECT_MAX_DELAY),
        connect_timeout=min(config.request_timeout, 10),
        control_connection_timeout=config.request_timeout,
    )
    cluster.register_listener(listener)
    try:
        session = cluster.connect()
    except BaseException:
        cluster.shutdown()
        raise
    return Connection(cluster, session, config.keyspace)
