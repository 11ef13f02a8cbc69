"""A store in Apache Cassandra (4.0 or later).

Windows are kept as packed blocks in the `block` table (see
`cyanite_py.store.cassandra_layout` for the key and why), expiring through a TTL of their
resolution's period under TimeWindowCompactionStrategy. A `path` table keeps every path
written, so the memory index rebuilds from Cassandra at start-up.

Cassandra's cost is per request far more than per row or byte, so a write sends its rows
as unlogged batches of up to `MAX_BATCH_ROWS` rows (grouped per replica when the cluster
has more than one host), and a read asks for `read_paths` paths a request and decodes
the blocks column-wise with numpy. A window written again MERGES with the stored one:
each write's rows carry a stamp of their own and reads fold records of the same time. A
batch that the writer retries after a failure keeps its stamp, so rows that landed before
the failure are written again identically instead of counted twice.

The driver runs its own I/O thread; requests are sent from the trio thread and answered
through the trio token (`cassandra_calls`), so the trio loop never blocks. Only session
set-up (connect, prepare) runs in a worker thread.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import trio
from cassandra import ConsistencyLevel, OperationTimedOut, ReadTimeout, WriteTimeout
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    TokenAwarePolicy,
)
from cassandra.query import BatchStatement, BatchType, PreparedStatement, tuple_factory

from cyanite_py.counters import Registry
from cyanite_py.model import Resolution, Series, SnapshotBatch
from cyanite_py.ratelog import RateLimitedLog
from cyanite_py.store.base import StoreUnavailable
from cyanite_py.store.cassandra_calls import Calls, HostEvents, Request, ignore
from cyanite_py.store.cassandra_config import CassandraStoreConfig, schema_cql
from cyanite_py.store.cassandra_layout import (
    NEEDS,
    VALUE_COLUMNS,
    Block,
    RowValues,
    read_spans,
    requests,
    series,
    write_rows,
)

log = logging.getLogger(__name__)

RECONNECT_MAX_DELAY = 10.0
"""Seconds between attempts at most, so a restarted node is used again soon."""
READ_PROFILE = "cyanite_read"
MAX_BATCH_ROWS = 128
"""Rows of one unlogged batch at most: past a few dozen, a larger batch saves little."""
_OPS = ("write", "read", "schema")


def _statements(cql: str) -> list[str]:
    return [part.strip() for part in cql.split(";") if part.strip()]


class _Connection:
    """A connected cluster and the statements prepared on it."""

    def __init__(self, cluster: Cluster, session: Session, keyspace: str) -> None:
        self.cluster = cluster
        self.session = session
        self.keyspace = keyspace
        self.insert_block: PreparedStatement | None = None
        self.insert_path: PreparedStatement | None = None
        self.select_blocks: dict[str, PreparedStatement] = {}
        self.select_paths: PreparedStatement | None = None

    def prepare(self) -> None:
        """Prepare every statement once (blocking: runs in a worker thread)."""
        ks, session = self.keyspace, self.session
        self.insert_block = session.prepare(
            f"INSERT INTO {ks}.block (path, precision, part, start, stamp, offsets,"
            f" {', '.join(VALUE_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?"
        )
        self.insert_path = session.prepare(f"INSERT INTO {ks}.path (path) VALUES (?)")
        self.select_blocks = {
            aggregate: session.prepare(
                f"SELECT path, part, start, offsets, {', '.join(columns)} FROM {ks}.block"
                " WHERE path IN ? AND precision = ? AND part IN ? AND start >= ? AND start < ?"
            )
            for aggregate, columns in NEEDS.items()
        }
        self.select_paths = session.prepare(f"SELECT path FROM {ks}.path")

    def replica(self, bound: Any) -> object:
        """The first replica of a bound statement's partition, to group a batch by."""
        replicas = self.cluster.metadata.get_replicas(self.keyspace, bound.routing_key)
        return replicas[0] if replicas else None


class CassandraStore:
    """Snapshots and paths in Cassandra, written and read with bounded concurrency."""

    def __init__(self, config: CassandraStoreConfig, registry: Registry) -> None:
        self.config = config
        self._registry = registry
        self._conn: _Connection | None = None
        self._in_flight = trio.Semaphore(config.max_in_flight)
        self._log = RateLimitedLog(log)
        self._stamped: tuple[SnapshotBatch, int] | None = None
        self._written = registry.counter(
            "store_snapshots_written", "Snapshots persisted by the store", store="cassandra"
        )
        self._reconnects = registry.counter(
            "store_cassandra_reconnects", "Connections made again after a failure or a host down"
        )
        self._downs = registry.counter("store_cassandra_hosts_down", "Hosts seen going down")
        self._connect_failures = registry.counter(
            "store_cassandra_connect_failures", "Attempts to connect that failed"
        )
        self._sent = {
            op: registry.counter("store_cassandra_statements", "Requests sent", op=op)
            for op in _OPS
        }
        self._rows = {
            op: registry.counter("store_cassandra_rows", "Block rows written or read", op=op)
            for op in ("write", "read")
        }

    @property
    def connected(self) -> bool:
        """Whether requests can be sent (hosts may still be down)."""
        return self._conn is not None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect (or keep trying in the background), report started, serve until cancelled."""
        try:
            if not await self._try_connect(first=True):
                task_status.started()
                await self._connect_with_backoff()
            else:
                task_status.started()
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await self._shutdown()

    async def write(self, batch: SnapshotBatch) -> None:
        conn = self._require()
        rows = write_rows(batch, self._stamp(batch))
        await self._send(conn, self._write_requests(conn, rows, batch.new_paths), "write")
        self._rows["write"].inc(len(rows))
        self._written.inc(len(batch))

    async def read(
        self, paths: Sequence[str], resolution: Resolution, start: int, end: int, aggregate: str
    ) -> dict[str, Series]:
        conn = self._require()
        select = conn.select_blocks[aggregate]
        parts, first_block = read_spans(start, end, resolution.precision)
        unique = list(dict.fromkeys(paths))
        if not parts or not unique:
            await trio.lowlevel.checkpoint()
            return {}
        blocks: defaultdict[str, list[Block]] = defaultdict(list)

        def keep(rows: list[Block]) -> None:
            for row in rows:
                blocks[row[0]].append(row)
            self._rows["read"].inc(len(rows))

        step = self.config.read_paths
        precision = resolution.precision
        chunks = (unique[i : i + step] for i in range(0, len(unique), step))
        await self._send(
            conn,
            ((select, (chunk, precision, parts, first_block, end), keep) for chunk in chunks),
            "read",
        )
        return {
            path: series(path, held, start, end, precision, aggregate)
            for path, held in blocks.items()
        }

    async def load_paths(self) -> list[str]:
        conn = self._require()
        assert conn.select_paths is not None
        paths: list[str] = []
        await self._send(
            conn, [(conn.select_paths, (), lambda rows: paths.extend(r[0] for r in rows))], "read"
        )
        return sorted(paths)

    def _stamp(self, batch: SnapshotBatch) -> int:
        """The stamp of `batch`'s rows: new for each batch, the same when the writer retries
        the batch it failed to write (it passes the very same object again)."""
        if self._stamped is not None and self._stamped[0] is batch:
            return self._stamped[1]
        stamp = secrets.randbits(63)
        self._stamped = (batch, stamp)
        return stamp

    def _write_requests(
        self, conn: _Connection, rows: list[RowValues], new_paths: Sequence[str]
    ) -> Iterator[Request]:
        """Unlogged batches of block rows (per first replica when there are several
        hosts), then of new paths."""
        insert, insert_path = conn.insert_block, conn.insert_path
        assert insert is not None and insert_path is not None
        groups: Iterable[list[RowValues]] = [rows]
        if len(conn.cluster.metadata.all_hosts()) > 1:
            by_replica: defaultdict[object, list[RowValues]] = defaultdict(list)
            for row in rows:
                by_replica[conn.replica(insert.bind(row))].append(row)
            groups = by_replica.values()
        for group in groups:
            for run in requests(group, MAX_BATCH_ROWS):
                yield _unlogged(insert, run)
        for first in range(0, len(new_paths), MAX_BATCH_ROWS):
            paths = new_paths[first : first + MAX_BATCH_ROWS]
            yield _unlogged(insert_path, [(path,) for path in paths])

    def _require(self) -> _Connection:
        if self._conn is None:
            raise StoreUnavailable(
                f"not connected to Cassandra at {self._where()} yet (retrying in the background)"
            )
        return self._conn

    def _where(self) -> str:
        return ", ".join(f"{host}:{self.config.port}" for host in self.config.cluster)

    # Connecting

    async def _connect_with_backoff(self) -> None:
        delay = 1.0
        while True:
            await trio.sleep(delay)
            if await self._try_connect(first=False):
                self._reconnects.inc()
                return
            delay = min(delay * 2, 30.0)

    async def _try_connect(self, *, first: bool) -> bool:
        """Connect, apply the schema if asked, prepare; log and count a failure."""
        try:
            conn = await trio.to_thread.run_sync(self._connect_blocking)
        except Exception as error:
            self._connect_failed(error, first)
            return False
        try:
            if self.config.create_schema:
                await self._apply_schema(conn)
            await trio.to_thread.run_sync(conn.prepare)
        except BaseException as error:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(conn.cluster.shutdown)
            if not isinstance(error, Exception):
                raise
            self._connect_failed(error, first)
            return False
        self._conn = conn
        log.info("cassandra store connected to %s, keyspace %s", self._where(), conn.keyspace)
        return True

    def _connect_failed(self, error: Exception, first: bool) -> None:
        self._connect_failures.inc()
        message = "cannot reach Cassandra at %s (%s: %s); retrying in the background"
        if first:
            log.error(message, self._where(), type(error).__name__, error)
        else:
            self._log.warning("connect", message, self._where(), type(error).__name__, error)

    def _connect_blocking(self) -> _Connection:
        config = self.config
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
        cluster.register_listener(HostEvents(self._reconnects, self._downs))
        try:
            session = cluster.connect()
        except BaseException:
            cluster.shutdown()
            raise
        return _Connection(cluster, session, config.keyspace)

    async def _apply_schema(self, conn: _Connection) -> None:
        config = self.config
        cql = schema_cql(config.keyspace, config.replication_factor, config.compaction_window)
        for statement in _statements(cql):
            await self._send_all(conn, [(statement, (), ignore)], "schema")

    async def _shutdown(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await trio.to_thread.run_sync(conn.cluster.shutdown)

    # Requests

    async def _send(self, conn: _Connection, requests: Iterable[Request], op: str) -> None:
        """Send every request with at most `max_in_flight` awaiting answers (across calls);
        stop at the first error and raise it as `StoreUnavailable`."""
        try:
            await self._send_all(conn, requests, op)
        except Exception as error:
            raise self._unavailable(error, op) from error

    async def _send_all(self, conn: _Connection, requests: Iterable[Request], op: str) -> None:
        slots = self._in_flight
        calls = Calls(slots)
        profile = READ_PROFILE if op == "read" else EXEC_PROFILE_DEFAULT
        execute = conn.session.execute_async
        sent = self._sent[op]
        for statement, values, handle in requests:
            try:
                slots.acquire_nowait()
            except trio.WouldBlock:
                await slots.acquire()
            if calls.error is not None:
                slots.release()
                break
            try:
                future = execute(statement, values, execution_profile=profile)
            except BaseException:
                slots.release()
                raise
            sent.inc()
            calls.track(future, handle)
        await calls.wait()
        if calls.error is not None:
            raise calls.error

    def _unavailable(self, error: Exception, op: str) -> StoreUnavailable:
        kind = type(error).__name__
        if isinstance(error, OperationTimedOut | ReadTimeout | WriteTimeout):
            timeouts = self._registry.counter(
                "store_cassandra_timeouts", "Requests that timed out", op=op
            )
            timeouts.inc()
        name = "store_cassandra_read_errors" if op == "read" else "store_cassandra_write_errors"
        self._registry.counter(name, f"Failed Cassandra {op} requests", error=kind).inc()
        self._log.warning(f"{op}:{kind}", "cassandra %s failed: %s: %s", op, kind, error)
        return StoreUnavailable(f"cassandra {op} failed: {kind}: {error}")


def _unlogged(statement: PreparedStatement, values: Sequence[Sequence[Any]]) -> Request:
    """One request for these rows: an unlogged batch, or the statement alone for one row."""
    if len(values) == 1:
        return statement, values[0], ignore
    batch = BatchStatement(BatchType.UNLOGGED)
    for row in values:
        batch.add(statement, row)
    return batch, None, ignore
