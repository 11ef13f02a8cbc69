"""The engine owns time: open windows, flushing, checkpoints, late and future points.

Every (path, resolution) pair is a *slot* (`Slots`): one row of numpy columns holding
its open window. A batch of points is aggregated column-wise: expanded to one row per
slot it touches, then folded into the open windows (`OpenWindows`).

A window closes when the wall clock passes its end plus the drift grace, or as soon as
its slot receives a point for a later window, so replaying history at full speed keeps
memory bounded by the open windows. Every `checkpoint_interval` the points of windows
still open are handed on as partial windows, so a crash loses at most that interval. A
point for a window already handed on is *late*: it is handed on as a partial window too,
and the store merges it in. Nothing is dropped for arriving late or out of order; only
points beyond `drift.max_future` and points older than a resolution's period are.

Windows handed on go to `emit`, which waits while the store writer is full: the engine
then stops taking batches, its queue fills and the TCP inputs stop reading.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence

import numpy as np
import trio

from cyanite_py.counters import Registry
from cyanite_py.engine.admission import SeriesAdmission
from cyanite_py.engine.columns import Slots
from cyanite_py.engine.paths import PathRegistry
from cyanite_py.engine.rules import (
    DriftConfig,
    EngineConfig,
    InputAggregation,
    compile_rules,
    no_input_aggregation,
)
from cyanite_py.engine.windows import OpenWindows
from cyanite_py.model import (
    EngineBatch,
    FloatArray,
    IntArray,
    OpenWindow,
    Resolution,
    Rollup,
    SnapshotBatch,
)

Emit = Callable[[SnapshotBatch], Awaitable[None]]

log = logging.getLogger(__name__)


class Engine:
    """Aggregates point batches into windows and hands what leaves them to `emit`.
    `input_aggregation` gives the paths an input knows how to roll up their aggregate,
    where their rule names none."""

    def __init__(
        self,
        config: EngineConfig,
        drift: DriftConfig,
        receive: trio.MemoryReceiveChannel[EngineBatch],
        emit: Emit,
        on_new_paths: Callable[[Sequence[str]], None],
        registry: Registry,
        clock: Callable[[], float] = time.time,
        input_aggregation: InputAggregation = no_input_aggregation,
    ) -> None:
        self.config = config
        self.drift = drift
        self._input_aggregation = input_aggregation
        self._receive = receive
        self._emit = emit
        self._clock = clock
        self._slots = Slots()
        self._paths = PathRegistry(
            compile_rules(config.rules),
            self._slots,
            on_new_paths,
            registry.counter("engine_series_created", "paths first seen"),
            SeriesAdmission(config.max_series, config.max_new_series_per_minute, registry, clock),
            registry,
        )
        self._windows = OpenWindows(
            self._slots,
            self._paths.table,
            registry.counter(
                "engine_points_late", "points for windows already handed on, merged by the store"
            ),
            registry.counter("engine_windows_flushed", "windows and parts of windows handed on"),
        )
        self._points = registry.counter("engine_points", "points aggregated into windows")
        self._future = registry.counter(
            "engine_points_future", "points too far ahead of the clock, dropped"
        )
        self._expired = registry.counter(
            "engine_points_expired", "point-resolutions older than the period, not kept"
        )
        self._checkpoints = registry.counter(
            "engine_checkpoints", "times the unwritten part of open windows was handed on"
        )
        self._waited = registry.counter(
            "engine_emit_wait_microseconds", "time spent waiting for the store writer to take"
        )
        registry.gauge("engine_series", "paths with open state", lambda: float(len(self._paths)))
        registry.gauge(
            "engine_open_windows",
            "windows holding points not yet handed on",
            lambda: float(self._windows.unsaved()),
        )
        registry.gauge(
            "engine_queue_depth",
            "point batches waiting for the engine",
            lambda: float(receive.statistics().current_buffer_used),
        )

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Aggregate until every sender has closed, then flush every open window."""
        task_status.started()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._on_clock)
            async with self._receive:
                async for batch in self._receive:
                    await self._hand_on(self.ingest(*self._drain_more(batch)))
            nursery.cancel_scope.cancel()
        await self._hand_on(self.flush_all())

    def unwritten(self) -> int:
        """Open windows whose points were not handed on (after a stop that did not finish)."""
        return self._windows.unsaved()

    def _drain_more(self, batch: EngineBatch) -> list[EngineBatch]:
        """Take whatever else is already queued, so numpy works on large batches."""
        batches = [batch]
        points = len(batch)
        while points < self.config.max_batch_points:
            try:
                batches.append(self._receive.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                break
            points += len(batches[-1])
        return batches

    async def _on_clock(self) -> None:
        """Close due windows every `flush_interval`, checkpoint every `checkpoint_interval`."""
        every = self.config.checkpoint_interval
        next_checkpoint = trio.current_time() + every
        while True:
            await trio.sleep(self.config.flush_interval)
            closed = self.flush_due()
            if len(closed):
                log.debug("closed %d windows", len(closed))
            await self._hand_on(closed)
            if every and trio.current_time() >= next_checkpoint:
                next_checkpoint = trio.current_time() + every
                saved = self.checkpoint()
                log.debug("checkpoint: %d open windows' new points handed on", len(saved))
                await self._hand_on(saved)

    async def _hand_on(self, batch: SnapshotBatch) -> None:
        if len(batch) or batch.new_paths:
            started = time.perf_counter()
            await self._emit(batch)
            self._waited.inc(int((time.perf_counter() - started) * 1e6))

    # ---- reading, for the API ----

    def resolutions_for(self, path: str) -> tuple[Resolution, ...]:
        return self._paths.rule_for(path).resolutions

    def rollup_for(self, path: str) -> Rollup:
        """How `path`'s windows roll up: its rule's aggregation, else its input's, else
        mean, and its rule's xFilesFactor."""
        return self._paths.rule_for(path).rollup(path, self._input_aggregation)

    def open_window(self, path: str, resolution: Resolution) -> OpenWindow | None:
        """The whole window of `path` at `resolution` still open, if the engine holds all
        of it (a window reopened by a point after it closed is only its last part)."""
        slot = self._paths.slot(path, resolution)
        return None if slot is None else self._windows.window(slot)

    # ---- aggregation ----

    def ingest(self, *batches: EngineBatch) -> SnapshotBatch:
        """Aggregate batches together; return the windows and paths to hand on."""
        batches = tuple(batch for batch in batches if len(batch))
        if not batches:
            return self._handed([])
        now = self._now()
        ids = np.concatenate([self._paths.ids_of(batch) for batch in batches])
        times = np.concatenate([np.asarray(batch.times, dtype=np.int64) for batch in batches])
        values = np.concatenate([np.asarray(batch.values, dtype=np.float64) for batch in batches])
        admitted = ids >= 0
        if not admitted.all():
            self._paths.refused(ids[~admitted])
            ids, times, values = ids[admitted], times[admitted], values[admitted]
        keep = times <= now + self.drift.max_future
        if not keep.all():
            self._future.inc(int(np.count_nonzero(~keep)))
            ids, times, values = ids[keep], times[keep], values[keep]
        self._points.inc(len(ids))
        slots, times, values = self._expand(ids, times, values)
        starts = times - times % self._slots.precision[slots].astype(np.int64)
        fresh = starts + self._slots.period[slots].astype(np.int64) > now
        if not fresh.all():
            self._expired.inc(int(np.count_nonzero(~fresh)))
            slots, starts, times, values = slots[fresh], starts[fresh], times[fresh], values[fresh]
        self._paths.kept(self._slots.path_id[slots])
        added = self._windows.add(slots, starts, times, values) if len(slots) else []
        return self._handed(added)

    def _expand(
        self, ids: IntArray, times: IntArray, values: FloatArray
    ) -> tuple[IntArray, IntArray, FloatArray]:
        """One row per (point, resolution of its path's rule)."""
        first, counts = self._paths.slots_of(ids)
        parts = [(first, times, values)]
        for offset in range(1, int(counts.max(initial=1))):
            has = counts > offset
            parts.append((first[has] + offset, times[has], values[has]))
        return (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
        )

    # ---- handing on ----

    def flush_due(self) -> SnapshotBatch:
        """Close every window whose end plus the grace has passed on the wall clock."""
        return self._handed([self._windows.close(self._windows.due(self._now(), self.drift.grace))])

    def checkpoint(self) -> SnapshotBatch:
        """Hand on the points not handed on yet of every open window that will not close
        before the next checkpoint (those will be written as they close), keeping it open."""
        self._checkpoints.inc()
        until = self._now() + self.config.checkpoint_interval
        return self._handed([self._windows.save(self._windows.open_past(until, self.drift.grace))])

    def flush_all(self) -> SnapshotBatch:
        """Close every open window (at shutdown)."""
        return self._handed([self._windows.close(self._windows.open_slots())])

    def _handed(self, parts: list[SnapshotBatch]) -> SnapshotBatch:
        """One batch of these windows, with the paths first seen since the last one."""
        out = SnapshotBatch.joined([batch for batch in parts if len(batch)])
        out.new_paths = self._paths.take_unannounced()
        return out

    def _now(self) -> int:
        return int(self._clock())
