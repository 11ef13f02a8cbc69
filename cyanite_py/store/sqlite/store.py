"""The SQLite store as a component: opening and closing the file, one writer at a time,
a pool of readers, and the background jobs (compaction, checkpoints, expiry).

All writes (and expiry and compaction) go through one connection, one at a time, on a
worker thread, one transaction each; after each, a task with a connection of its own
copies the write-ahead log into the file (a passive checkpoint), so commits do not wait
for that copy. Compaction merges `recent` into `block` after `compact_after_writes`
writes (and before expiry), once writes pause for `compact_quiet` seconds, so a burst of
writes does not share the CPU with merging them, unless `recent` holds the most writes a
read can take. Path ids are assigned in memory (`PathIds`), so one server process owns
one database file, and holds a lock on `<file>.lock` while it is open.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import trio

from cyanite_py.counters import Registry
from cyanite_py.model import Aggregate, Resolution, Series, SnapshotBatch
from cyanite_py.ratelog import RateLimitedLog
from cyanite_py.store.base import StoreUnavailable
from cyanite_py.store.lockfile import LockedByAnother, LockFile
from cyanite_py.store.sqlite import writes
from cyanite_py.store.sqlite.config import MAX_RECENT_WRITES, SqliteStoreConfig
from cyanite_py.store.sqlite.events import SqliteEvents
from cyanite_py.store.sqlite.groups import GROUP_PATHS
from cyanite_py.store.sqlite.reads import Read
from cyanite_py.store.sqlite.schema import load_paths, load_paths_since, open_database
from cyanite_py.store.sqlite.upgrade import upgrade

log = logging.getLogger(__name__)
T = TypeVar("T")


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
        self._lock = LockFile(Path(f"{config.path}.lock"))
        self._writer: sqlite3.Connection | None = None
        self._write_lock = trio.Lock()
        self._compacting = trio.Lock()
        self._compact_due = _Due()
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpoint_lock = trio.Lock()
        self._checkpoint_due = _Due()
        self._idle_send, self._idle = trio.open_memory_channel[sqlite3.Connection](
            config.read_connections
        )
        self._paths = writes.PathIds({})
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
        self.events = SqliteEvents(self._write_lock, self._on_writer, self._on_reader)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Open the file (creating it and its directory), then compact when due and expire
        periodically."""
        await trio.to_thread.run_sync(self._open)
        log.info("SQLite store %s open with %d paths", self.config.path, len(self._paths.ids))
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
            translated, fresh = self._paths.translate(batch)
            pairs = writes.distinct_pairs(batch.precisions, batch.periods) - self._resolutions
            path_ids = translated[batch.keys]
            await self._on_writer("write", writes.append_write, batch, seq, path_ids, fresh, pairs)
            self._paths.keep(batch.table, translated, fresh)
            self._resolutions.update(pairs)
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
        self,
        paths: Sequence[str],
        resolution: Resolution,
        start: int,
        end: int,
        aggregate: Aggregate,
    ) -> dict[str, Series]:
        ids = self._paths.ids
        names = {ids[p]: p for p in paths if p in ids}
        if not names:
            await trio.lowlevel.checkpoint()
            return {}
        oldest_kept = int(self._clock()) - resolution.period
        # The next sequence number too: a write may commit before this read's snapshot.
        recent = (*self._recent, self._next_seq)
        query = Read(resolution.precision, start, max(start, oldest_kept), end, aggregate, recent)
        return await self._on_reader("read", query.run, names)

    async def load_paths(self) -> list[str]:
        return await self._on_reader("load_paths", load_paths)

    async def load_paths_since(self, cursor: int) -> tuple[list[str], int]:
        return await self._on_reader("load_paths", load_paths_since, cursor)

    async def expire(self) -> int:
        """Remove blocks whose windows all started more than their period ago; return how many."""
        now = int(self._clock())
        shortest: dict[int, int] = {}
        for precision, period in self._resolutions:
            shortest[precision] = min(period, shortest.get(precision, period))
        await self._compact()
        ids = list(self._paths.ids.values())
        removed = 0
        for first in range(0, len(ids), writes.EXPIRE_CHUNK):
            chunk = ids[first : first + writes.EXPIRE_CHUNK]
            async with self._write_lock:
                done = await self._on_writer("expire", writes.expire, chunk, shortest, now)
            self._expired.inc(done)
            removed += done
        return removed

    def _open(self) -> None:
        """Take the file's lock, open it, and keep what it holds (in a worker thread)."""
        try:
            Path(self.config.path).parent.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
            database = open_database(self.config)
        except (sqlite3.Error, OSError, LockedByAnother) as error:
            self._lock.release()
            raise StoreUnavailable(
                f"cannot open SQLite store {self.config.path!r}: {error}"
            ) from error
        try:
            upgrade(database.writer, self.config.path)
        except sqlite3.Error as error:
            database.close()
            self._lock.release()
            raise StoreUnavailable(
                f"cannot upgrade SQLite store {self.config.path!r}: {error}"
            ) from error
        self._writer = database.writer
        self._checkpointer = database.checkpointer
        for reader in database.readers:
            self._idle_send.send_nowait(reader)
        self._paths = writes.PathIds(database.ids)
        self._resolutions = database.resolutions
        self._recent = database.recent
        self._next_seq = (database.recent or [0])[-1] + 1

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
            groups = self._paths.next_id // GROUP_PATHS + 1
            for first in range(0, groups, writes.COMPACT_GROUPS):
                async with self._write_lock:
                    try:
                        await self._on_writer(
                            "compact", writes.compact, seqs, first, first + writes.COMPACT_GROUPS
                        )
                    except StoreUnavailable as error:
                        self._log.warning("compact", "%s", error)
                        return
            del self._recent[: len(seqs)]
            self._compactions.inc()
            self._checkpoint_due.ask()

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
