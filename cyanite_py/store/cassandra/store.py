"""A store in Apache Cassandra (4.0 or later).

Windows are kept column-wise, a block of a path's windows a row, in the `block` table
(see `cyanite_py.store.cassandra.layout` for the key and why), expiring through a TTL of
their resolution's period under TimeWindowCompactionStrategy. A `path` table keeps every
path written, so the memory index rebuilds from Cassandra at start-up.

Cassandra's cost is per request far more than per row or byte, so a write sends its rows
as unlogged batches of up to `MAX_BATCH_ROWS` rows (grouped per replica when the cluster
has more than one host), and a read asks for `read_paths` paths a request and decodes
the blocks column-wise with numpy. A window written again MERGES with the stored one:
each write's rows carry a stamp of their own and reads merge the windows of one time. A
batch that the writer retries after a failure keeps its stamp, so rows that landed before
the failure are written again identically instead of counted twice. Every
`FOLD_INTERVAL` the blocks that hold many rows of this store's are folded into one
(`cassandra_fold`).

The driver runs its own I/O thread; requests are sent from the trio thread and answered
through the trio token (`calls`), so the trio loop never blocks. Only session
set-up (connect, prepare) runs in a worker thread.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import trio
from cassandra import OperationTimedOut, ReadTimeout
from cassandra.query import BatchStatement, BatchType

from cyanite_py.counters import Registry
from cyanite_py.model import Aggregate, Resolution, Series, SnapshotBatch
from cyanite_py.ratelog import RateLimitedLog
from cyanite_py.store.base import StoreUnavailable
from cyanite_py.store.cassandra import paths as paths_log
from cyanite_py.store.cassandra.calls import (
    Handler,
    HostEvents,
    Request,
    file_by_path,
    ignore,
)
from cyanite_py.store.cassandra.config import CassandraStoreConfig, schema_cql, statements
from cyanite_py.store.cassandra.connection import Connection, connect
from cyanite_py.store.cassandra.encode import block_batch, routing_key
from cyanite_py.store.cassandra.events import CassandraEvents
from cyanite_py.store.cassandra.fold import FOLD_GRACE, FOLD_INTERVAL, BlockKey, FoldQueue, fold
from cyanite_py.store.cassandra.layout import (
    LAST_COLUMNS_CQL,
    Block,
    RowValues,
    read_spans,
    requests,
    series,
    write_rows,
)
from cyanite_py.store.cassandra.sending import Sender

log = logging.getLogger(__name__)

READ_ATTEMPTS = 2
"""A timed-out read is sent once more, when the driver may ask another replica first."""
MAX_BATCH_ROWS = 128
"""Rows of one unlogged batch at most: past a few dozen, a larger batch saves little."""


class SchemaOutdated(Exception):
    """The keyspace's tables lack what this version writes, and `create_schema` is off."""


class CassandraStore:
    """Snapshots and paths in Cassandra, written and read with bounded concurrency."""

    def __init__(self, config: CassandraStoreConfig, registry: Registry) -> None:
        self.config = config
        self._registry = registry
        self._conn: Connection | None = None
        self._log = RateLimitedLog(log)
        self._sender = Sender(config.max_in_flight, registry, self._log)
        self._stamped: tuple[SnapshotBatch, int] | None = None
        self.events = CassandraEvents(self._require, self._sender.send)
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
        self._rows = {
            op: registry.counter("store_cassandra_rows", "Block rows written or read", op=op)
            for op in ("write", "read")
        }
        self._read_retries = registry.counter(
            "store_cassandra_read_retries", "Reads sent again after timing out"
        )
        self._folds = FoldQueue(FOLD_GRACE)
        self._folded = registry.counter("store_cassandra_folds", "Blocks folded into one row")
        self._fold_parts = registry.counter(
            "store_cassandra_folded_rows", "Rows replaced by folding their block"
        )
        self._fold_errors = registry.counter(
            "store_cassandra_fold_errors",
            "Folds that failed, leaving the block's rows as they were",
        )
        registry.gauge(
            "store_cassandra_hosts_up",
            "Cassandra hosts the driver holds as up (0 before it connects)",
            lambda: 0.0 if self._conn is None else float(self._conn.hosts_up()),
        )
        registry.gauge(
            "store_cassandra_fold_queue",
            "Blocks written to and not yet over",
            lambda: len(self._folds),
        )

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
            while True:
                await trio.sleep(FOLD_INTERVAL)
                await self.fold_due(time.time())
        finally:
            with trio.CancelScope(shield=True):
                await self._shutdown()

    async def write(self, batch: SnapshotBatch) -> None:
        conn = self._require()
        stamp = self._stamp(batch)
        rows = write_rows(batch, stamp)
        await self._sender.send(conn, self._write_requests(conn, rows, batch.new_paths), "write")
        self._stamped = None  # written: the same batch written again is new data
        self._folds.written(rows, stamp)
        self._rows["write"].inc(len(rows))
        self._written.inc(len(batch))

    async def read(
        self,
        paths: Sequence[str],
        resolution: Resolution,
        start: int,
        end: int,
        aggregate: Aggregate,
    ) -> dict[str, Series]:
        conn = self._require()
        select = conn.select_blocks[aggregate]
        parts, first_block = read_spans(start, end, resolution.precision)
        unique = list(dict.fromkeys(paths))
        if not parts or not unique:
            await trio.lowlevel.checkpoint()
            return {}
        step = self.config.read_paths
        precision = resolution.precision
        for attempt in range(1, READ_ATTEMPTS + 1):
            blocks: defaultdict[str, list[Block]] = defaultdict(list)
            keep = file_by_path(blocks, self._rows["read"])
            chunks = (unique[i : i + step] for i in range(0, len(unique), step))
            requests = ((select, (c, precision, parts, first_block, end), keep) for c in chunks)
            try:
                await self._sender.send(conn, requests, "read")
                break
            except StoreUnavailable as error:
                timed_out = isinstance(error.__cause__, OperationTimedOut | ReadTimeout)
                if attempt == READ_ATTEMPTS or not timed_out:
                    raise
                self._read_retries.inc()
        return {
            path: series(path, held, start, end, precision, aggregate)
            for path, held in blocks.items()
        }

    async def load_paths(self) -> list[str]:
        conn = self._require()
        assert conn.select_paths is not None
        paths: list[str] = []
        await self._sender.send(
            conn, [(conn.select_paths, (), lambda rows: paths.extend(r[0] for r in rows))], "read"
        )
        return sorted(paths)

    async def load_paths_since(self, cursor: int) -> tuple[list[str], int]:
        """Every path when `cursor` is 0 or older than the log, else the log's paths since
        `cursor` (milliseconds of the servers' clocks, less an overlap)."""
        now_ms = int(time.time() * 1000)
        if paths_log.needs_full_load(cursor, now_ms):
            return await self.load_paths(), paths_log.next_cursor(now_ms)
        conn = self._require()
        select = conn.select_path_log
        assert select is not None
        found: list[str] = []

        def keep(rows: list[Any]) -> None:
            found.extend(paths_log.paths_of(rows))

        reads = ((select, bounds, keep) for bounds in paths_log.log_reads(cursor, now_ms))
        await self._sender.send(conn, reads, "read")
        return found, paths_log.next_cursor(now_ms)

    async def fold_due(self, now: float) -> int:
        """Fold the blocks that hold enough rows of this store's; return how many were
        folded. A failure is counted and logged, never raised, and its blocks are tried
        again next time."""
        conn = self._conn
        if conn is None:
            return 0
        due, own = self._folds.due(now)
        if not due:
            return 0
        found: dict[BlockKey, list[Any]] = {}

        def keep(key: BlockKey) -> Handler:
            return lambda rows: found.__setitem__(key, rows)

        select = conn.select_block
        assert select is not None
        try:
            await self._sender.send_all(conn, ((select, key, keep(key)) for key, _ in due), "fold")
            merged = (fold(key, parts.ttl, own, found.get(key, [])) for key, parts in due)
            writes = [self._fold_request(conn, *both) for both in merged if both is not None]
            await self._sender.send_all(conn, [request for _, request in writes], "fold")
        except Exception as error:
            self._folds.restore(due)
            self._fold_errors.inc()
            kind = type(error).__name__
            self._log.warning(f"fold:{kind}", "cassandra fold failed: %s: %s", kind, error)
            return 0
        for row, _ in writes:
            self._folds.written([row], row[4])
        self._folded.inc(len(writes))
        return len(writes)

    def _fold_request(
        self, conn: Connection, row: RowValues, stamps: list[int], written: int
    ) -> tuple[RowValues, Request]:
        """The merged row, and one single-partition batch: the merged row in, written at
        the write time of its latest part, and its parts out."""
        assert conn.insert_folded is not None and conn.delete_parts is not None
        batch = BatchStatement(BatchType.UNLOGGED)
        batch.add(conn.insert_folded, (*row, written))
        batch.add(conn.delete_parts, (*row[:4], stamps))
        self._fold_parts.inc(len(stamps))
        return row, (batch, None, ignore)

    def _stamp(self, batch: SnapshotBatch) -> int:
        """The stamp of `batch`'s rows: new for each write, the same when the writer retries
        a batch whose write failed or was cancelled (it passes the very same object
        again), so rows that landed before are written again, not added."""
        if self._stamped is not None and self._stamped[0] is batch:
            return self._stamped[1]
        stamp = secrets.randbits(63)
        self._stamped = (batch, stamp)
        return stamp

    def _write_requests(
        self, conn: Connection, rows: list[RowValues], new_paths: Sequence[str]
    ) -> Iterator[Request]:
        """Unlogged batches of block rows (per first replica when there are several
        hosts), then of new paths, each in `path` and in `path_log`."""
        insert, insert_path = conn.insert_block, conn.insert_path
        assert insert is not None and insert_path is not None and conn.insert_path_log
        groups: Iterable[list[RowValues]] = [rows]
        if len(conn.cluster.metadata.all_hosts()) > 1:
            by_replica: defaultdict[object, list[RowValues]] = defaultdict(list)
            for row in rows:
                by_replica[conn.replica(routing_key(row))].append(row)
            groups = by_replica.values()
        for group in groups:
            for run in requests(group, MAX_BATCH_ROWS):
                yield block_batch(insert, conn.keyspace, run), None, ignore
        log_rows = paths_log.log_rows(new_paths, int(time.time() * 1000))
        for first in range(0, len(new_paths), MAX_BATCH_ROWS):
            paths = new_paths[first : first + MAX_BATCH_ROWS]
            batch = BatchStatement(BatchType.UNLOGGED)
            for path, log_row in zip(paths, log_rows[first : first + MAX_BATCH_ROWS], strict=True):
                batch.add(insert_path, (path,))
                batch.add(conn.insert_path_log, log_row)
            yield batch, None, ignore

    def _require(self) -> Connection:
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
            conn = await trio.to_thread.run_sync(
                connect, self.config, HostEvents(self._reconnects, self._downs)
            )
        except Exception as error:
            self._connect_failed(error, first)
            return False
        try:
            if self.config.create_schema:
                await self._apply_schema(conn)
            if conn.lacks_last_columns():
                raise SchemaOutdated(
                    f"table {conn.keyspace}.block lacks the columns of last points; apply "
                    + LAST_COLUMNS_CQL.format(keyspace=conn.keyspace)
                )
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

    async def _apply_schema(self, conn: Connection) -> None:
        config = self.config
        cql = schema_cql(config.keyspace, config.replication_factor, config.compaction_window)
        for statement in statements(cql):
            await self._sender.send_all(conn, [(statement, (), ignore)], "schema")
        if conn.lacks_last_columns():
            add = LAST_COLUMNS_CQL.format(keyspace=conn.keyspace)
            await self._sender.send_all(conn, [(add, (), ignore)], "schema")
            log.info("cassandra store: added the columns of last points to %s.block", conn.keyspace)

    async def _shutdown(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await trio.to_thread.run_sync(conn.cluster.shutdown)
