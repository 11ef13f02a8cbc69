"""Buffers snapshot batches between the engine and a store, and writes them with retries.

Flow control runs from the store back to the sockets: `submit` takes a batch at once
while the buffer holds fewer than `max_buffered` snapshots, and otherwise waits until
writes make room. The engine waits with it, its queue fills, and the TCP inputs stop
reading, so senders feel TCP back-pressure and nothing acknowledged is dropped; memory
stays bounded by `max_buffered` plus the one batch each waiting caller holds. A batch
the store refuses stays at the head of the buffer and is retried with exponential
back-off until it is written; `drain` writes what is left at shutdown, and `unwritten`
says how much a stop that could not finish leaves behind.
"""

from __future__ import annotations

import logging
import time
from collections import deque

import trio
from pydantic import PositiveFloat, PositiveInt

from cyanite_py.counters import Registry
from cyanite_py.model import SnapshotBatch
from cyanite_py.ratelog import RateLimitedLog
from cyanite_py.settings import Duration, settings
from cyanite_py.store.base import Store

log = logging.getLogger(__name__)


@settings
class StoreWriterConfig:
    """`max_buffered` bounds the snapshots held (waiting or being written); a write carries
    at most `max_batch` snapshots; a failed write is retried after `retry_initial` seconds,
    doubling up to `retry_max`; `shutdown_timeout` bounds the final drain. Whatever is
    buffered while a write runs goes out in the next one, so a store that falls behind
    gets larger writes: the SQLite store then packs several windows of a path per row."""

    max_buffered: PositiveInt = 1_000_000
    max_batch: PositiveInt = 1_000_000
    retry_initial: PositiveFloat = 0.1
    retry_max: PositiveFloat = 30.0
    shutdown_timeout: Duration = 30

    def __post_init__(self) -> None:
        if self.retry_max < self.retry_initial:
            raise ValueError("retry_max must be at least retry_initial")


class StoreWriter:
    """Owns the buffer of snapshots not yet persisted and the one task that writes them."""

    def __init__(self, config: StoreWriterConfig, store: Store, registry: Registry) -> None:
        self.config = config
        self._store = store
        self._pending: deque[SnapshotBatch] = deque()
        self._inflight: SnapshotBatch | None = None
        self._buffered = 0
        self._waiting = 0
        self._lock = trio.Lock()
        self._wakeup = trio.Event()
        self._room = trio.Event()
        self._log = RateLimitedLog(log)
        self._submitted = registry.counter(
            "snapshots_submitted", "Snapshots handed to the store writer"
        )
        self._written = registry.counter("snapshots_written", "Snapshots the store accepted")
        self._full = registry.counter(
            "store_buffer_full_waits", "Times a batch waited for room in the writer's buffer"
        )
        self._retries = registry.counter("store_write_retries", "Store writes tried again")
        self._registry = registry
        self._writes = registry.counter("store_writes", "Successful store writes")
        self._write_us = registry.counter(
            "store_write_microseconds", "Time spent in successful store writes"
        )
        self._last_latency = 0.0
        registry.gauge(
            "store_buffer_snapshots", "Snapshots waiting to be written", lambda: self._buffered
        )
        registry.gauge(
            "store_buffer_waiting_snapshots",
            "Snapshots of batches waiting for room in the buffer",
            lambda: self._waiting,
        )
        registry.gauge(
            "store_write_latency_seconds",
            "Duration of the latest successful store write",
            lambda: self._last_latency,
        )

    @property
    def buffered(self) -> int:
        """Snapshots submitted and not yet written."""
        return self._buffered

    def unwritten(self) -> int:
        """Snapshots submitted or waiting to be, and not written: after a drain that did
        not finish, what the stop loses."""
        return self._buffered + self._waiting

    async def submit(self, batch: SnapshotBatch) -> None:
        """Buffer `batch` for writing, first waiting while the buffer is full. A batch
        whose wait is cancelled stays counted in `unwritten`."""
        if not len(batch) and not batch.new_paths:
            await trio.lowlevel.checkpoint()
            return
        self._submitted.inc(len(batch))
        if self._buffered >= self.config.max_buffered:
            self._full.inc()
            self._waiting += len(batch)
            while self._buffered >= self.config.max_buffered:
                await self._room.wait()
            self._waiting -= len(batch)
        self._pending.append(batch)
        self._buffered += len(batch)
        self._wakeup.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Write buffered batches as they come, until cancelled."""
        task_status.started()
        while True:
            while not self._has_work():
                await self._wakeup.wait()
                self._wakeup = trio.Event()
            await self._write_next()

    async def drain(self) -> None:
        """Write everything buffered so far; the caller bounds it with a deadline."""
        while self._has_work():
            await self._write_next()

    def _has_work(self) -> bool:
        return self._inflight is not None or bool(self._pending)

    def _take(self) -> SnapshotBatch:
        """Coalesce buffered batches, from the head, into one of at most `max_batch`."""
        taken: list[SnapshotBatch] = []
        room = self.config.max_batch
        while self._pending and room > 0:
            head = self._pending[0]
            if len(head) <= room:
                taken.append(self._pending.popleft())
            else:
                first, self._pending[0] = head.split(room)
                taken.append(first)
            room -= len(taken[-1])
        return SnapshotBatch.joined(taken)

    async def _write_next(self) -> None:
        """Write one coalesced batch, retrying until the store takes it.

        The batch stays in `_inflight` until written, so a cancelled attempt (at shutdown)
        leaves it for `drain`.
        """
        async with self._lock:
            if self._inflight is None:
                if not self._pending:
                    return
                self._inflight = self._take()
            batch = self._inflight
            delay = self.config.retry_initial
            while True:
                started = time.perf_counter()
                try:
                    await self._store.write(batch)
                except Exception as error:  # any store failure is retried, never fatal
                    self._failed(error, len(batch), delay)
                    await trio.sleep(delay)
                    delay = min(delay * 2, self.config.retry_max)
                    self._retries.inc()
                    continue
                break
            self._inflight = None
            elapsed = time.perf_counter() - started
            self._buffered -= len(batch)
            self._room.set()
            self._room = trio.Event()
            self._written.inc(len(batch))
            self._writes.inc()
            self._write_us.inc(int(elapsed * 1e6))
            self._last_latency = elapsed
            log.debug(
                "wrote %d snapshots and %d new paths in %.3f s; %d still buffered",
                len(batch),
                len(batch.new_paths),
                elapsed,
                self._buffered,
            )

    def _failed(self, error: Exception, size: int, delay: float) -> None:
        kind = type(error).__name__
        self._registry.counter("store_write_errors", "Failed store writes", error=kind).inc()
        self._log.warning(
            f"error:{kind}",
            "store write of %d snapshots failed (%s: %s); retrying in %.1fs",
            size,
            kind,
            error,
            delay,
        )
