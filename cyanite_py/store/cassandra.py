"""A store in Apache Cassandra (4.0 or later), in Cyanite's layout.

One `metric` row per (path, precision, period, window start), holding Cyanite's
`metric_point` (max, mean, min, sum) and the count; rows expire through a TTL of their
resolution's period, under TimeWindowCompactionStrategy. A `path` table keeps every path
written, so the memory index rebuilds from Cassandra at start-up.

The driver runs its own I/O thread. Requests are sent from the trio thread and their
completion is handed back through the trio token, so a request costs a callback, not a
thread, and the trio loop never blocks. Only session set-up (connect, prepare) runs in a
worker thread. Writing a window again replaces it.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import trio
from cassandra import ConsistencyLevel, OperationTimedOut, ReadTimeout, WriteTimeout
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    ResponseFuture,
    Session,
)
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    HostStateListener,
    TokenAwarePolicy,
)
from cassandra.query import PreparedStatement, tuple_factory

from cyanite_py.counters import Counter, Registry
from cyanite_py.model import Resolution, Series, SnapshotBatch, Windows
from cyanite_py.ratelog import RateLimitedLog
from cyanite_py.store.base import StoreUnavailable
from cyanite_py.store.cassandra_config import CassandraStoreConfig, schema_cql

log = logging.getLogger(__name__)

MAX_TTL = 20 * 365 * 86400
"""Cassandra refuses a TTL above 20 years."""
RECONNECT_MAX_DELAY = 10.0
"""Seconds between attempts at most, so a restarted node is used again soon."""
READ_PROFILE = "cyanite_read"
_OPS = ("write", "read", "schema")


def _statements(cql: str) -> list[str]:
    return [part.strip() for part in cql.split(";") if part.strip()]


Handler = Callable[[list[Any]], None]
"""Takes the rows of one answered request, in the trio thread."""
Request = tuple[Any, Sequence[Any], Handler]
"""A statement (prepared or CQL text), its values, and what to do with its rows."""


class _Calls:
    """The requests of one store call, answered through the trio token.

    The driver's thread gathers every page of a request, then hands the rows to
    `_answered` in the trio thread, which frees an in-flight slot and passes them on; the
    calling task sleeps only while every slot is taken, and for the last answers.
    """

    def __init__(self, slots: trio.Semaphore) -> None:
        self._slots = slots
        self._token = trio.lowlevel.current_trio_token()
        self._idle: trio.Event | None = None
        self.pending = 0
        self.error: Exception | None = None

    def track(self, future: ResponseFuture, handle: Handler) -> None:
        self.pending += 1
        pages: list[Any] = []

        def page(rows: list[Any] | None) -> None:
            if rows:
                pages.extend(rows)
            if future.has_more_pages:
                future.start_fetching_next_page()
            else:
                self._soon(handle, pages, None)

        def fail(error: Exception) -> None:
            self._soon(handle, pages, error)

        future.add_callbacks(page, fail)

    def _soon(self, handle: Handler, rows: list[Any], error: Exception | None) -> None:
        # An answer may arrive after the trio loop ended: nobody is waiting for it then.
        with contextlib.suppress(trio.RunFinishedError):
            self._token.run_sync_soon(self._answered, handle, rows, error)

    def _answered(self, handle: Handler, rows: list[Any], error: Exception | None) -> None:
        self._slots.release()
        self.pending -= 1
        if error is None:
            try:
                handle(rows)
            except Exception as failed:
                error = failed
        if error is not None and self.error is None:
            self.error = error
        if self._idle is not None and (self.pending == 0 or self.error is not None):
            self._idle.set()

    async def wait(self) -> None:
        """Until every answer is in, or one failed."""
        if self.pending and self.error is None:
            self._idle = trio.Event()
            await self._idle.wait()
        else:
            await trio.lowlevel.checkpoint()


class _HostEvents(HostStateListener):  # type: ignore[misc]
    """Counts hosts coming back; the driver calls it from its own threads."""

    def __init__(self, up: Counter, down: Counter) -> None:
        self._up = up
        self._down = down

    def on_up(self, host: Any) -> None:
        self._up.inc()
        log.info("cassandra host %s is up", host)

    def on_down(self, host: Any) -> None:
        self._down.inc()
        log.warning("cassandra host %s is down", host)

    def on_add(self, host: Any) -> None:
        pass

    def on_remove(self, host: Any) -> None:
        pass


class _Connection:
    """A connected cluster and the statements prepared on it."""

    def __init__(self, cluster: Cluster, session: Session, keyspace: str) -> None:
        self.cluster = cluster
        self.session = session
        self.keyspace = keyspace
        self.insert_metric: PreparedStatement | None = None
        self.insert_path: PreparedStatement | None = None
        self.select_metric: PreparedStatement | None = None
        self.select_paths: PreparedStatement | None = None

    def prepare(self) -> None:
        """Prepare every statement once (blocking: runs in a worker thread)."""
        ks, session = self.keyspace, self.session
        self.insert_metric = session.prepare(
            f"INSERT INTO {ks}.metric (path, precision, period, time, point, count)"
            " VALUES (?, ?, ?, ?, ?, ?) USING TTL ?"
        )
        self.insert_path = session.prepare(f"INSERT INTO {ks}.path (path) VALUES (?)")
        self.select_metric = session.prepare(
            f"SELECT time, count, point FROM {ks}.metric"
            " WHERE path = ? AND precision = ? AND period = ? AND time >= ? AND time < ?"
        )
        self.select_paths = session.prepare(f"SELECT path FROM {ks}.path")


class CassandraStore:
    """Snapshots and paths in Cassandra, written and read with bounded concurrency."""

    def __init__(self, config: CassandraStoreConfig, registry: Registry) -> None:
        self.config = config
        self._registry = registry
        self._conn: _Connection | None = None
        self._in_flight = trio.Semaphore(config.max_in_flight)
        self._log = RateLimitedLog(log)
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
            op: registry.counter("store_cassandra_statements", "Statements sent", op=op)
            for op in _OPS
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
        await self._send(conn, _write_requests(conn, batch), "write")
        self._written.inc(len(batch))

    async def read(
        self, paths: Sequence[str], resolution: Resolution, start: int, end: int, aggregate: str
    ) -> dict[str, Series]:
        conn = self._require()
        select = conn.select_metric
        assert select is not None
        found: dict[str, Series] = {}

        def keep(path: str) -> Handler:
            def handle(rows: list[Any]) -> None:
                if rows:
                    windows = Windows.from_rows(
                        [(t, c, p.sum, p.min, p.max) for t, c, p in rows if p is not None]
                    )
                    found[path] = windows.series(path, start, end, resolution.precision, aggregate)

            return handle

        requests = (
            (select, (path, resolution.precision, resolution.period, start, end), keep(path))
            for path in dict.fromkeys(paths)
        )
        await self._send(conn, requests, "read")
        return found

    async def load_paths(self) -> list[str]:
        conn = self._require()
        assert conn.select_paths is not None
        paths: list[str] = []
        await self._send(
            conn, [(conn.select_paths, (), lambda rows: paths.extend(r[0] for r in rows))], "read"
        )
        return sorted(paths)

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
            auth_provider=auth,
            execution_profiles=profiles,
            reconnection_policy=ExponentialReconnectionPolicy(0.5, RECONNECT_MAX_DELAY),
            connect_timeout=min(config.request_timeout, 10),
            control_connection_timeout=config.request_timeout,
        )
        cluster.register_listener(_HostEvents(self._reconnects, self._downs))
        try:
            session = cluster.connect()
        except BaseException:
            cluster.shutdown()
            raise
        return _Connection(cluster, session, config.keyspace)

    async def _apply_schema(self, conn: _Connection) -> None:
        cql = schema_cql(self.config.keyspace, self.config.replication_factor)
        for statement in _statements(cql):
            await self._send_all(conn, [(statement, (), _ignore)], "schema")

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
        calls = _Calls(slots)
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


def _ignore(rows: list[Any]) -> None:
    """The answer to a statement that returns no rows."""


def _write_requests(conn: _Connection, batch: SnapshotBatch) -> Iterator[Request]:
    """One insert per snapshot, then one per new path."""
    insert, insert_path = conn.insert_metric, conn.insert_path
    assert insert is not None and insert_path is not None
    for path, precision, period, t, count, total, low, high in batch.tuples():
        mean = total / count if count else math.nan
        point = (high, mean, low, total)
        yield insert, (path, precision, period, t, point, count, min(period, MAX_TTL)), _ignore
    for path in batch.new_paths:
        yield insert_path, (path,), _ignore
