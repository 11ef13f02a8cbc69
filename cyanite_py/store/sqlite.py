"""The embedded default store: one SQLite file in WAL mode, nothing else to install.

Schema: `path` (id, unique name) and `block` keyed by (path_id, precision, start)
WITHOUT ROWID, each row packing up to 64 consecutive windows of one path (see
`cyanite_py.store.blocks`), so one path's windows at one resolution sit together in time
order, a read is one range scan over few rows, and a batch of history is written as
few rows. Pages are 16 KiB so a full block stays inside its page. `resolution` records
each (precision, period) ever written, so expiry can seek per path instead of scanning.

A write does not go to `block` directly: every path has a block open at the present, and
a write touching every path would rewrite every page holding one, to add a window or two
to each. A write appends to `recent` instead, keyed first by the write's sequence
number, so its rows land after the last write's pages and nothing else is rewritten;
and it writes one row per 64 path ids (`cyanite_py.store.groups`), not one per path and
block, since a write's cost in SQLite is mostly per row. After `compact_after_writes`
writes (and before expiry), a background task moves `recent` into `block`, one range of
paths per transaction, each block's new windows appended in write order: the open
blocks are rewritten once per compaction rather than once per write. It waits for
writes to pause, so a burst of writes does not share the CPU with merging them, unless
`recent` holds the most writes a read can take. Reads take both tables, seeking once
per write and group of paths that `recent` holds.

A rewritten window MERGES into the stored one (counts and sums added, min and max
combined) instead of replacing it: after a restart the engine opens a fresh window that
may hold only a late point for a time already stored, and replacing would overwrite a
complete snapshot with that partial one. Writes append records to their block; reads
fold records of the same time together.

All writes (and expiry) go through one connection, one at a time, on a worker thread,
one transaction per batch; after each, a task with a connection of its own copies the
write-ahead log into the file, so commits do not wait for that copy. Reads use their own
connections, which in WAL mode never wait for a write and see only committed batches.
Path ids are assigned here, from a dict of path → id filled at start, so a batch of
100,000 snapshots needs no lookups in SQLite; therefore one server process owns one
database file, and holds a lock on `<file>.lock` while it is open. Snapshots name their
paths by the engine's keys, so the store keeps an array from those keys to its ids and
looks a name up only the first time it sees it.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
import weakref
from collections import ChainMap
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
import trio
from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveInt

from cyanite_py.counters import Registry
from cyanite_py.model import IntArray, PathTable, Resolution, Series, SnapshotBatch
from cyanite_py.ratelog import RateLimitedLog
from cyanite_py.settings import Duration, settings
from cyanite_py.store.base import StoreUnavailable
from cyanite_py.store.blocks import (
    BLOCK_BYTES,
    BLOCK_WINDOWS,
    block_rows,
    block_start,
    fold,
    unpack,
)
from cyanite_py.store.groups import GROUP_PATHS, Group, gathered, merged_records, pack_groups
from cyanite_py.store.lockfile import LockedByAnother, LockFile

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS path (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS resolution (
    precision INTEGER NOT NULL, period INTEGER NOT NULL, PRIMARY KEY (precision, period)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS block (
    path_id INTEGER NOT NULL,
    precision INTEGER NOT NULL,
    start INTEGER NOT NULL,
    period INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (path_id, precision, start)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS recent (
    seq INTEGER NOT NULL,
    grp INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (seq, grp)
) WITHOUT ROWID;
"""

PAGE_SIZE = 16384

NO_IDS: IntArray = np.empty(0, dtype=np.int64)

APPEND = "INSERT INTO recent (seq, grp, data) VALUES ({seq:d}, ?, ?)"
"""Every row of a write has the write's number, so it is part of the statement's text."""

COMPACT_GROUPS = 80
"""Groups of path ids (5,120 paths) per compaction transaction, which bounds how long
writes wait and how far the write-ahead log grows."""

MERGE_BLOCK = f"""
INSERT INTO block (path_id, precision, start, period, data) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (path_id, precision, start) DO UPDATE SET
    period = excluded.period,
    data = CASE WHEN length(data) + length(excluded.data) > {BLOCK_BYTES}
        THEN fold_block(data || excluded.data)
        ELSE CAST(data || excluded.data AS BLOB) END
"""
"""Appends a block's new records, folding the parts of each window together once the block
holds more records than windows (checkpoints write a coarse window in many parts)."""

MIGRATE_ROW_PER_BLOCK_RECENT = """
INSERT INTO block (path_id, precision, start, period, data)
SELECT path_id, precision, start, period, data FROM recent WHERE true
ORDER BY path_id, precision, start, seq
ON CONFLICT (path_id, precision, start) DO UPDATE SET
    period = excluded.period,
    data = CAST(data || excluded.data AS BLOB)
"""
"""Files written before `recent` held groups kept a row per path and block there."""

EXPIRE = f"""
DELETE FROM block
WHERE path_id = ? AND precision = ? AND start < ?
    AND start + precision * {BLOCK_WINDOWS} <= ? - period
"""

WAL_BACKSTOP_PAGES = 16384
"""Log pages (256 MiB) past which the writer checkpoints on its own, should the
checkpoint task fall behind or fail."""

MAX_RECENT_WRITES = 64
"""Writes `recent` may hold before compaction starts without waiting for writes to pause."""

MAX_PARAMETERS = 400
"""Path ids per `IN (…)` list; with up to `MAX_RECENT_WRITES` + 1 write numbers bound
beside them in `recent`, still under the 999 parameters of older SQLite builds."""

EXPIRE_CHUNK = 2000
"""Path ids per expiry transaction, so writes are held up only briefly."""


@settings
class SqliteStoreConfig:
    """`store:` settings for `type: sqlite`. `synchronous: normal` with WAL loses at most
    the latest batches on a power cut, never the file; `cache_size_mb` is per connection;
    `busy_timeout` is how long to wait for another process holding a lock (a backup);
    `mmap_size_mb` is how much of the file read connections map instead of copying its
    pages into their own caches (0 turns mapping off); `compact_after_writes` is how many
    writes `recent` holds before they are merged into `block` (each read seeks once per
    write held, each compaction rewrites the open blocks once), which starts once no write
    has come for `compact_quiet` seconds."""

    type: Literal["sqlite"] = "sqlite"
    path: str = "./data/cyanite.db"
    expire_interval: Duration = 600
    synchronous: Literal["off", "normal", "full"] = "normal"
    cache_size_mb: PositiveInt = 32
    read_connections: PositiveInt = 4
    busy_timeout: Duration = 5
    mmap_size_mb: NonNegativeInt = 1024
    compact_after_writes: Annotated[int, Field(ge=1, le=MAX_RECENT_WRITES)] = 8
    compact_quiet: NonNegativeFloat = 0.5


class SqliteStore:
    """Snapshots and paths in one SQLite file; runs once (`run` opens and closes it)."""

    def __init__(
        self,
        config: SqliteStoreConfig,
        registry: Registry,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._clock = clock
        self._writer: sqlite3.Connection | None = None
        self._lock = LockFile(Path(f"{config.path}.lock"))
        self._write_lock = trio.Lock()
        self._compacting = trio.Lock()
        self._compact_due = _Due()
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpoint_lock = trio.Lock()
        self._checkpoint_due = _Due()
        self._idle_send, self._idle = trio.open_memory_channel[sqlite3.Connection](
            config.read_connections
        )
        self._ids: dict[str, int] = {}
        self._table_ids: weakref.WeakKeyDictionary[PathTable, IntArray] = (
            weakref.WeakKeyDictionary()
        )
        self._next_id = 1
        self._resolutions: set[tuple[int, int]] = set()
        self._recent: list[int] = []
        self._next_seq = 1
        self._last_write = -math.inf
        self._recent_full = trio.Event()
        self._registry = registry
        self._log = RateLimitedLog(log)
        self._written = registry.counter(
            "store_snapshots_written", "Snapshots persisted by the store", store="sqlite"
        )
        self._expired = registry.counter(
            "store_blocks_expired", "Blocks of windows removed after their period", store="sqlite"
        )
        self._compactions = registry.counter(
            "store_compactions", "Recent writes merged into blocks", store="sqlite"
        )
        self._checkpoints = registry.counter(
            "store_checkpoints", "Write-ahead log copies into the file", store="sqlite"
        )

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Open the file (creating it and its directory), then compact when due and expire
        periodically."""
        readers = await trio.to_thread.run_sync(self._open)
        for reader in readers:
            self._idle_send.send_nowait(reader)
        log.info("SQLite store %s open with %d paths", self.config.path, len(self._ids))
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._compact_due.serve, self._compact_when_quiet)
                nursery.start_soon(self._checkpoint_due.serve, self._checkpoint)
                if self._recent:  # left by the last run
                    self._compact_due.ask()
                task_status.started()
                while True:
                    await trio.sleep(self.config.expire_interval)
                    try:
                        await self.expire()
                    except StoreUnavailable as error:
                        self._log.warning("expire", "%s", error)
        finally:
            with trio.CancelScope(shield=True):
                await self._close()

    async def write(self, batch: SnapshotBatch) -> None:
        if not len(batch) and not batch.new_paths:
            await trio.lowlevel.checkpoint()
            return
        async with self._write_lock:
            seq = self._next_seq
            fresh, resolutions, translated = await self._on_writer(
                "write", self._write_sync, batch, seq
            )
            self._ids.update(fresh)
            self._next_id += len(fresh)
            self._table_ids[batch.table] = translated
            self._resolutions.update(resolutions)
            self._recent.append(seq)
            self._next_seq = seq + 1
            self._last_write = trio.current_time()
            if len(self._recent) >= MAX_RECENT_WRITES:
                self._recent_full.set()
        self._written.inc(len(batch))
        self._checkpoint_due.ask()
        if len(self._recent) >= self.config.compact_after_writes:
            self._compact_due.ask()

    async def read(
        self, paths: Sequence[str], resolution: Resolution, start: int, end: int, aggregate: str
    ) -> dict[str, Series]:
        names = {self._ids[p]: p for p in paths if p in self._ids}
        if not names:
            await trio.lowlevel.checkpoint()
            return {}
        oldest_kept = int(self._clock()) - resolution.period
        # The next sequence number too: a write may commit before this read's snapshot.
        recent = (*self._recent, self._next_seq)
        query = _Read(resolution.precision, start, max(start, oldest_kept), end, aggregate, recent)
        return await self._on_reader("read", query.run, names)

    async def load_paths(self) -> list[str]:
        return await self._on_reader("load_paths", _load_paths_sync)

    async def expire(self) -> int:
        """Remove blocks whose windows all started more than their period ago; return how many."""
        now = int(self._clock())
        shortest: dict[int, int] = {}
        for precision, period in self._resolutions:
            shortest[precision] = min(period, shortest.get(precision, period))
        await self._compact()
        ids = list(self._ids.values())
        removed = 0
        for first in range(0, len(ids), EXPIRE_CHUNK):
            chunk = ids[first : first + EXPIRE_CHUNK]
            async with self._write_lock:
                done = await self._on_writer("expire", _expire_sync, chunk, shortest, now)
            self._expired.inc(done)
            removed += done
        return removed

    def _open(self) -> list[sqlite3.Connection]:
        """Create the file and schema, load path ids; return the read connections."""
        opened: list[sqlite3.Connection] = []
        try:
            Path(self.config.path).parent.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
            writer = self._connect()
            opened.append(writer)
            writer.create_function("fold_block", 1, fold, deterministic=True)
            writer.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            writer.execute("PRAGMA journal_mode = WAL")
            writer.execute(f"PRAGMA wal_autocheckpoint = {WAL_BACKSTOP_PAGES}")
            writer.executescript(SCHEMA)
            _migrate_recent(writer)
            self._ids = dict(writer.execute("SELECT name, id FROM path"))
            self._next_id = max(self._ids.values(), default=0) + 1
            self._resolutions = set(writer.execute("SELECT precision, period FROM resolution"))
            first, last = writer.execute("SELECT min(seq), max(seq) FROM recent").fetchone()
            if last is not None:
                self._recent = list(range(first, last + 1))
                self._next_seq = last + 1
            checkpointer = self._connect()
            opened.append(checkpointer)
            for _ in range(self.config.read_connections):
                opened.append(self._connect())
                opened[-1].execute("PRAGMA query_only = ON")
                opened[-1].execute(f"PRAGMA mmap_size = {self.config.mmap_size_mb * 2**20}")
        except (sqlite3.Error, OSError, LockedByAnother) as error:
            for connection in opened:
                connection.close()
            self._lock.release()
            raise StoreUnavailable(
                f"cannot open SQLite store {self.config.path!r}: {error}"
            ) from error
        self._writer = writer
        self._checkpointer = checkpointer
        return opened[2:]

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.config.path,
            timeout=self.config.busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        connection.execute(f"PRAGMA synchronous = {self.config.synchronous.upper()}")
        connection.execute(f"PRAGMA cache_size = {-1024 * self.config.cache_size_mb}")
        return connection

    async def _close(self) -> None:
        """Close the writer once no write uses it, and the idle readers; a reader still
        reading is closed when its read ends."""
        async with self._write_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        async with self._checkpoint_lock:
            if self._checkpointer is not None:
                self._checkpointer.close()
                self._checkpointer = None
        await self._idle_send.aclose()
        while True:
            try:
                self._idle.receive_nowait().close()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
        self._lock.release()

    async def _checkpoint(self) -> None:
        """Copy committed pages from the write-ahead log into the file, on a thread and a
        connection of its own, so the writer's commits never wait for the copy or its
        fsync. PASSIVE: it neither waits for nor blocks readers and the writer."""
        async with self._checkpoint_lock:
            if self._checkpointer is None:
                return
            try:
                await trio.to_thread.run_sync(
                    self._checkpointer.execute, "PRAGMA wal_checkpoint(PASSIVE)"
                )
            except sqlite3.Error as error:
                self._log.warning("checkpoint", "%s", self._failure("checkpoint", error))
                return
        self._checkpoints.inc()

    async def _compact_when_quiet(self) -> None:
        """Compact once no write has come for `compact_quiet` seconds, or at once when
        `recent` holds `MAX_RECENT_WRITES` writes."""
        quiet_from = self._last_write + self.config.compact_quiet
        while trio.current_time() < quiet_from and not self._recent_full.is_set():
            with trio.move_on_at(quiet_from):
                await self._recent_full.wait()
            quiet_from = self._last_write + self.config.compact_quiet
        self._recent_full = trio.Event()
        await self._compact()

    async def _compact(self) -> None:
        """Merge the writes in `recent` into `block`, one range of path ids per transaction
        so writes go on in between. Moving a range is idempotent, so a failure is logged
        and the next compaction starts over: the writes themselves are already stored."""
        if self._compacting.locked() or not self._recent:
            await trio.lowlevel.checkpoint()
            return
        async with self._compacting:
            seqs = tuple(self._recent)
            for first in range(0, self._next_id // GROUP_PATHS + 1, COMPACT_GROUPS):
                async with self._write_lock:
                    try:
                        await self._on_writer(
                            "compact", _compact_sync, seqs, first, first + COMPACT_GROUPS
                        )
                    except StoreUnavailable as error:
                        self._log.warning("compact", "%s", error)
                        return
            del self._recent[: len(seqs)]
            self._compactions.inc()
            self._checkpoint_due.ask()

    def _write_sync(
        self, connection: sqlite3.Connection, batch: SnapshotBatch, seq: int
    ) -> tuple[dict[str, int], set[tuple[int, int]], IntArray]:
        """One transaction: new paths, new resolutions, then the snapshots appended to
        `recent` under `seq`."""
        translated, fresh = self._translate(batch)
        resolutions = _distinct_pairs(batch.precisions, batch.periods) - self._resolutions
        with _transaction(connection):
            connection.executemany(
                "INSERT INTO path (id, name) VALUES (?, ?)",
                ((i, name) for name, i in fresh.items()),
            )
            connection.executemany(
                "INSERT OR IGNORE INTO resolution (precision, period) VALUES (?, ?)", resolutions
            )
            rows = pack_groups(batch, translated[batch.keys])
            connection.executemany(APPEND.format(seq=seq), rows)
        return fresh, resolutions, translated

    def _translate(self, batch: SnapshotBatch) -> tuple[IntArray, dict[str, int]]:
        """The path id of each key of the batch's table, up to its last key, and ids for
        the paths not yet stored (numbered in name order). Only keys added to the table
        since its last write are looked up by name."""
        known = self._table_ids.get(batch.table, NO_IDS)
        added = batch.table.names[len(known) : int(batch.keys.max(initial=-1)) + 1]
        unknown = set(batch.new_paths).union(added).difference(self._ids)
        fresh = {name: self._next_id + i for i, name in enumerate(sorted(unknown))}
        if added:
            lookup: Mapping[str, int] = ChainMap(fresh, self._ids) if fresh else self._ids
            ids = np.fromiter(map(lookup.__getitem__, added), np.int64, len(added))
            known = np.concatenate([known, ids])
        return known, fresh

    async def _on_writer(self, op: str, work: Callable[..., T], *args: Any) -> T:
        """Run `work(writer, *args)` on a thread; the caller holds the write lock."""
        connection = self._writer
        if connection is None:
            raise StoreUnavailable(f"SQLite store {self.config.path!r} is not open")
        try:
            return await trio.to_thread.run_sync(work, connection, *args)
        except sqlite3.Error as error:
            raise self._failure(op, error) from error

    async def _on_reader(self, op: str, work: Callable[..., T], *args: Any) -> T:
        """Run `work(reader, *args)` on a thread with an idle read connection."""
        try:
            connection = await self._idle.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError) as error:
            raise StoreUnavailable(f"SQLite store {self.config.path!r} is closed") from error
        try:
            return await trio.to_thread.run_sync(work, connection, *args)
        except sqlite3.Error as error:
            raise self._failure(op, error) from error
        finally:
            try:
                self._idle_send.send_nowait(connection)
            except trio.ClosedResourceError:
                connection.close()

    def _failure(self, op: str, error: sqlite3.Error) -> StoreUnavailable:
        self._registry.counter(
            "store_errors", "Failed store operations", store="sqlite", op=op
        ).inc()
        return StoreUnavailable(f"SQLite store {self.config.path!r}: {op} failed: {error}")


class _Due:
    """A background job that runs again after it is asked for; asks that arrive while it
    runs make one more run, not one each."""

    def __init__(self) -> None:
        self._asked = trio.Event()

    def ask(self) -> None:
        self._asked.set()

    async def serve(self, job: Callable[[], Awaitable[None]]) -> None:
        while True:
            await self._asked.wait()
            self._asked = trio.Event()
            await job()


@dataclass(frozen=True, slots=True)
class _Read:
    """One read: each path's `aggregate` at `precision` on the grid from `start`, with the
    windows of `[kept_from, end)`, from `block` and from the writes `recent` may hold."""

    precision: int
    start: int
    kept_from: int
    end: int
    aggregate: str
    recent: tuple[int, ...]

    def run(self, connection: sqlite3.Connection, names: dict[int, str]) -> dict[str, Series]:
        """Unpack each path's blocks as soon as the scan has passed them and keep only its
        series, so one chunk of paths' windows in `recent` and one path's blocks at most
        are held at a time. One transaction makes every chunk see the same batches."""
        found: dict[str, Series] = {}
        ids = list(names)
        connection.execute("BEGIN")
        try:
            for first in range(0, len(ids), MAX_PARAMETERS):
                chunk = ids[first : first + MAX_PARAMETERS]
                recent = self._recent(connection, chunk)
                for path_id, group in groupby(self._blocks(connection, chunk), itemgetter(0)):
                    blocks = [data for _, data in group]
                    found[names[path_id]] = self._series(
                        names[path_id], blocks, recent.pop(path_id, None)
                    )
                for path_id, records in recent.items():
                    found[names[path_id]] = self._series(names[path_id], [], records)
        finally:
            connection.execute("COMMIT")
        return found

    def _blocks(self, connection: sqlite3.Connection, chunk: list[int]) -> sqlite3.Cursor:
        """`(path_id, data)` of the chunk's blocks in range, in key order."""
        return connection.execute(
            f"SELECT path_id, data FROM block WHERE path_id IN ({_marks(chunk)})"
            " AND precision = ? AND start >= ? AND start < ? ORDER BY path_id, start",
            (*chunk, self.precision, block_start(self.kept_from, self.precision), self.end),
        )

    def _recent(self, connection: sqlite3.Connection, chunk: list[int]) -> dict[int, np.ndarray]:
        """The chunk's records in the writes `recent` holds, by path id, in time order:
        one seek per write and group of paths."""
        groups = sorted({path_id // GROUP_PATHS for path_id in chunk})
        rows = connection.execute(
            f"SELECT data FROM recent WHERE seq IN ({_marks(self.recent)})"
            f" AND grp IN ({_marks(groups)}) ORDER BY seq, grp",
            (*self.recent, *groups),
        )
        wanted = np.unique(np.array(chunk, dtype=np.int64))
        return gathered((data for (data,) in rows), wanted, self.precision)

    def _series(self, path: str, blocks: list[bytes], recent: np.ndarray | None) -> Series:
        """The path's series from its blocks, in time order, then its windows from recent
        writes, which are usually later still, so they unpack without a sort."""
        if recent is not None:
            blocks = [*blocks, recent.tobytes()]
        windows = unpack(blocks, self.kept_from, self.end)
        return windows.series(path, self.start, self.end, self.precision, self.aggregate)


def _marks(values: Sequence[object]) -> str:
    """Placeholders for `values` in an `IN (…)` list."""
    return ",".join("?" * len(values))


def _distinct_pairs(first: IntArray, second: IntArray) -> set[tuple[int, int]]:
    """The distinct `(first[i], second[i])`, one vectorised pass per pair found: a batch
    holds only a few resolutions."""
    found: set[tuple[int, int]] = set()
    while len(first):
        pair = (int(first[0]), int(second[0]))
        found.add(pair)
        other = (first != pair[0]) | (second != pair[1])
        first, second = first[other], second[other]
    return found


def _load_paths_sync(connection: sqlite3.Connection) -> list[str]:
    return [name for (name,) in connection.execute("SELECT name FROM path ORDER BY name")]


def _expire_sync(
    connection: sqlite3.Connection, ids: list[int], shortest: dict[int, int], now: int
) -> int:
    """Delete blocks whose every window has expired, seeking per (path, precision)."""
    removed = 0
    with _transaction(connection):
        for precision, period in shortest.items():
            cursor = connection.executemany(
                EXPIRE, ((i, precision, now - period, now) for i in ids)
            )
            removed += cursor.rowcount
    return removed


def _compact_sync(
    connection: sqlite3.Connection, seqs: tuple[int, ...], first_group: int, end_group: int
) -> None:
    """Move the rows of writes `seqs` for groups in `[first_group, end_group)` from
    `recent` into `block`, in one transaction, appending each block's new windows in
    write order."""
    marks = _marks(seqs)
    bounds = (*seqs, first_group, end_group)
    with _transaction(connection):
        groups = [
            Group.decode(data)
            for (data,) in connection.execute(
                f"SELECT data FROM recent WHERE seq IN ({marks}) AND grp >= ? AND grp < ?"
                " ORDER BY seq, grp",
                bounds,
            )
        ]
        if groups:
            connection.executemany(MERGE_BLOCK, block_rows(*merged_records(groups)))
            connection.execute(
                f"DELETE FROM recent WHERE seq IN ({marks}) AND grp >= ? AND grp < ?", bounds
            )


def _migrate_recent(connection: sqlite3.Connection) -> None:
    """Merge a `recent` table of the earlier layout, a row per path and block, into
    `block`, and make the grouped one in its place."""
    columns = {row[1] for row in connection.execute("PRAGMA table_info(recent)")}
    if "path_id" not in columns:
        return
    with _transaction(connection):
        connection.execute(MIGRATE_ROW_PER_BLOCK_RECENT)
        connection.execute("DROP TABLE recent")
    connection.executescript(SCHEMA)


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """A write transaction, committed when the block ends and rolled back if it raises."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
