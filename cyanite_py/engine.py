"""The engine owns time: rules, resolutions, open windows, flushing, late and future points.

Every (path, resolution) pair is a *slot*: one row in a set of numpy columns holding the
open window's start, count, sum, min and max. A batch of points is aggregated column-wise:
points are expanded to one row per slot they touch, sorted by (slot, window start),
reduced per group with `reduceat`, then merged with the open windows in one pass. Points
from a parse worker name their paths by the worker's keys, which the engine maps to its own
ids with one index per batch; closed windows name their paths by those ids, which key
the engine's own `PathTable`.

A window closes when the wall clock passes its end plus the drift grace, or as soon as its
slot receives a point for a later window (so replaying history at full speed keeps memory
bounded by the open windows). A point for a window older than its slot's open window, or
for a window already closed, is *late*: it is counted and dropped, so a complete snapshot
is never overwritten by a partial one.
"""

from __future__ import annotations

import logging
import re
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import trio

from cyanite_py.counters import Registry
from cyanite_py.model import (
    EngineBatch,
    FloatArray,
    IntArray,
    PathTable,
    PointBatch,
    Resolution,
    SnapshotBatch,
)
from cyanite_py.query import OpenWindow
from cyanite_py.settings import Duration, ResolutionSetting, settings

log = logging.getLogger(__name__)

Int32Array = npt.NDArray[np.int32]

DEFAULT_RULES: dict[str, list[Resolution]] = {
    "default": [Resolution(10, 86400), Resolution(300, 30 * 86400)]
}


@settings
class EngineConfig:
    """`rules` maps a regex (searched in the path, tried in order) to resolutions; `default`
    matches every path. `flush_interval` is how often the wall clock closes windows."""

    rules: dict[str, list[ResolutionSetting]] = field(default_factory=lambda: dict(DEFAULT_RULES))
    flush_interval: Duration = 1
    max_batch_points: int = 200_000

    def __post_init__(self) -> None:
        for pattern, resolutions in self.rules.items():
            if not resolutions:
                raise ValueError(f"rule {pattern!r} has no resolutions")
            if pattern != "default":
                re.compile(pattern)


@settings
class DriftConfig:
    """How far clients' clocks may be off: `grace` delays closing a window after its end;
    points more than `max_future` ahead of the server's clock are dropped."""

    grace: Duration = 10
    max_future: Duration = 600


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: re.Pattern[str]
    resolutions: tuple[Resolution, ...]


def compile_rules(rules: dict[str, list[Resolution]]) -> tuple[Rule, ...]:
    """Rules in order, finest resolution first within each; `default` matches everything."""
    return tuple(
        Rule(
            re.compile("" if pattern == "default" else pattern),
            tuple(sorted(set(resolutions), key=lambda r: (r.precision, r.period))),
        )
        for pattern, resolutions in rules.items()
    )


def grown_capacity(capacity: int, needed: int) -> int:
    """A quarter more than now, or what is needed: copies stay amortised, and an array
    holds at most a quarter more rows than it has, where doubling could hold twice."""
    return max(needed, capacity + capacity // 4)


class _Column:
    """An array that grows by a quarter, so per-path lookups stay vectorised."""

    def __init__(self, dtype: type[np.generic] = np.int64) -> None:
        self._data: npt.NDArray[Any] = np.zeros(1024, dtype=dtype)
        self._size = 0

    @property
    def values(self) -> npt.NDArray[Any]:
        return self._data[: self._size]

    def __len__(self) -> int:
        return self._size

    def extend(self, values: npt.NDArray[Any]) -> None:
        self._reserve(len(values))
        self._data[self._size : self._size + len(values)] = values
        self._size += len(values)

    def _reserve(self, more: int) -> None:
        if self._size + more > len(self._data):
            grown = np.zeros(grown_capacity(len(self._data), self._size + more), self._data.dtype)
            grown[: self._size] = self.values
            self._data = grown


class _Slots:
    """Growable numpy columns, one row per (path, resolution)."""

    def __init__(self, capacity: int = 1024) -> None:
        self.size = 0
        self.start: IntArray = np.full(capacity, -1, dtype=np.int64)
        self.count: IntArray = np.zeros(capacity, dtype=np.int64)
        self.sum: FloatArray = np.zeros(capacity)
        self.min: FloatArray = np.zeros(capacity)
        self.max: FloatArray = np.zeros(capacity)
        # int32 is ample for these three and saves 12 bytes a slot (24 MB a million paths).
        self.precision: Int32Array = np.ones(capacity, dtype=np.int32)
        self.period: Int32Array = np.ones(capacity, dtype=np.int32)
        self.path_id: Int32Array = np.zeros(capacity, dtype=np.int32)

    def allocate(self, path_ids: IntArray, precisions: IntArray, periods: IntArray) -> None:
        """Rows for new paths: row `i` belongs to `path_ids[i]`, at that resolution."""
        first = self.size
        needed = first + len(path_ids)
        if needed > len(self.start):
            self._grow(grown_capacity(len(self.start), needed))
        self.precision[first:needed] = precisions
        self.period[first:needed] = periods
        self.path_id[first:needed] = path_ids
        self.size = needed

    def _grow(self, capacity: int) -> None:
        for name, fill in (
            ("start", -1),
            ("count", 0),
            ("sum", 0),
            ("min", 0),
            ("max", 0),
            ("precision", 1),
            ("period", 1),
            ("path_id", 0),
        ):
            old = getattr(self, name)
            new = np.full(capacity, fill, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)


class Engine:
    """Aggregates point batches into windows and hands closed windows to `emit`."""

    def __init__(
        self,
        config: EngineConfig,
        drift: DriftConfig,
        receive: trio.MemoryReceiveChannel[EngineBatch],
        emit: Callable[[SnapshotBatch], None],
        on_new_paths: Callable[[Sequence[str]], None],
        registry: Registry,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.drift = drift
        self._rules = compile_rules(config.rules)
        self._receive = receive
        self._emit = emit
        self._on_new_paths = on_new_paths
        self._clock = clock
        self._path_ids: dict[str, int] = {}
        self._table_ids: weakref.WeakKeyDictionary[PathTable, _Column] = weakref.WeakKeyDictionary()
        self._table = PathTable()
        self._first_slot = _Column()
        self._resolution_count = _Column(np.int32)
        self._rule_index = _Column(np.int32)
        every_resolution = [r for rule in self._rules for r in rule.resolutions]
        self._rule_precisions = np.array([r.precision for r in every_resolution], np.int64)
        self._rule_periods = np.array([r.period for r in every_resolution], np.int64)
        self._rule_resolution_counts = np.array([len(r.resolutions) for r in self._rules])
        self._rule_first_resolution = np.cumsum(self._rule_resolution_counts)
        self._rule_first_resolution -= self._rule_resolution_counts
        self._slots = _Slots()
        self._new_paths: list[str] = []
        self._points = registry.counter("engine_points", "points aggregated into windows")
        self._late = registry.counter("engine_points_late", "points for closed windows, dropped")
        self._future = registry.counter(
            "engine_points_future", "points too far ahead of the clock, dropped"
        )
        self._expired = registry.counter(
            "engine_points_expired", "point-resolutions older than the period, not kept"
        )
        self._flushed = registry.counter("engine_windows_flushed", "windows closed and emitted")
        self._series = registry.counter("engine_series_created", "paths first seen")
        registry.gauge(
            "engine_series", "paths with open state", lambda: float(len(self._table.names))
        )
        registry.gauge(
            "engine_open_windows",
            "windows holding points not yet flushed",
            lambda: float(np.count_nonzero(self._slots.count[: self._slots.size])),
        )
        registry.gauge(
            "engine_queue_depth",
            "point batches waiting for the engine",
            lambda: float(receive.statistics().current_buffer_used),
        )

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Aggregate until every sender has closed, then flush every open window."""
        task_status.started()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._close_on_clock)
                async with self._receive:
                    async for batch in self._receive:
                        self.ingest(*self._drain_more(batch))
                nursery.cancel_scope.cancel()
        finally:
            self.flush_all()

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

    async def _close_on_clock(self) -> None:
        while True:
            await trio.sleep(self.config.flush_interval)
            self.flush_due()

    # ---- reading, for the API ----

    def resolutions_for(self, path: str) -> tuple[Resolution, ...]:
        path_id = self._path_ids.get(path)
        if path_id is None:
            return self._rules[self._match_rule(path)].resolutions
        return self._rules[int(self._rule_index.values[path_id])].resolutions

    def open_window(self, path: str, resolution: Resolution) -> OpenWindow | None:
        path_id = self._path_ids.get(path)
        if path_id is None:
            return None
        resolutions = self._rules[int(self._rule_index.values[path_id])].resolutions
        if resolution not in resolutions:
            return None
        slot = int(self._first_slot.values[path_id]) + resolutions.index(resolution)
        slots = self._slots
        if slots.count[slot] == 0:
            return None
        return (
            int(slots.start[slot]),
            int(slots.count[slot]),
            float(slots.sum[slot]),
            float(slots.min[slot]),
            float(slots.max[slot]),
        )

    # ---- aggregation ----

    def ingest(self, *batches: EngineBatch) -> None:
        """Aggregate batches together, emitting the windows they close."""
        batches = tuple(batch for batch in batches if len(batch))
        if not batches:
            return
        now = int(self._clock())
        ids = np.concatenate([self._ids_of(batch) for batch in batches])
        times = np.concatenate([np.asarray(batch.times, dtype=np.int64) for batch in batches])
        values = np.concatenate([np.asarray(batch.values, dtype=np.float64) for batch in batches])
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
            slots, starts, values = slots[fresh], starts[fresh], values[fresh]
        self._hand_on(self._merge(slots, starts, values) if len(slots) else [])

    def _ids_of(self, batch: EngineBatch) -> IntArray:
        """The engine's id of each point's path; a table's new names are numbered once."""
        if isinstance(batch, PointBatch):
            return self._path_ids_of(batch.paths)
        table = batch.table
        known = self._table_ids.get(table)
        if known is None:
            known = self._table_ids[table] = _Column()
        if len(known) < len(table.names):
            known.extend(self._path_ids_of(table.names[len(known) :]))
        return known.values[batch.keys]

    def _path_ids_of(self, paths: list[str]) -> IntArray:
        ids = list(map(self._path_ids.get, paths))
        if None in ids:
            unknown = (path for path, found in zip(paths, ids, strict=True) if found is None)
            self._register(list(dict.fromkeys(unknown)))
            ids = list(map(self._path_ids.__getitem__, paths))
        return np.asarray(ids, dtype=np.int64)

    def _register(self, paths: list[str]) -> None:
        """Number new paths and give each a slot per resolution of its rule, column-wise."""
        first_id = len(self._table.names)
        path_ids = np.arange(first_id, first_id + len(paths))
        rules = self._match_rules(paths)
        counts = self._rule_resolution_counts[rules]
        self._path_ids.update(zip(paths, path_ids.tolist(), strict=True))
        self._table.names.extend(paths)
        self._rule_index.extend(rules)
        self._resolution_count.extend(counts)
        first_slots = self._slots.size + np.cumsum(counts) - counts
        self._first_slot.extend(first_slots)
        rows = np.arange(int(counts.sum())) - np.repeat(first_slots - self._slots.size, counts)
        rows += np.repeat(self._rule_first_resolution[rules], counts)
        self._slots.allocate(
            np.repeat(path_ids, counts),
            self._rule_precisions[rows],
            self._rule_periods[rows],
        )
        self._new_paths.extend(paths)
        self._on_new_paths(paths)
        self._series.inc(len(paths))

    def _match_rules(self, paths: list[str]) -> IntArray:
        if not self._rules[0].pattern.pattern:  # `default` comes first: nothing else applies
            return np.zeros(len(paths), dtype=np.int64)
        return np.fromiter(map(self._match_rule, paths), np.int64, len(paths))

    def _match_rule(self, path: str) -> int:
        for position, rule in enumerate(self._rules):
            if rule.pattern.search(path):
                return position
        return len(self._rules) - 1

    def _expand(
        self, ids: IntArray, times: IntArray, values: FloatArray
    ) -> tuple[IntArray, IntArray, FloatArray]:
        """One row per (point, resolution of its path's rule)."""
        first = self._first_slot.values[ids]
        counts = self._resolution_count.values[ids]
        parts = [(first, times, values)]
        for offset in range(1, int(counts.max(initial=1))):
            has = counts > offset
            parts.append((first[has] + offset, times[has], values[has]))
        return (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
        )

    def _merge(self, slots: IntArray, starts: IntArray, values: FloatArray) -> list[SnapshotBatch]:
        """Fold (slot, window start, value) rows into the open windows; return the windows
        this closes."""
        order = np.argsort((slots << 32) | starts, kind="stable")
        slots, starts, values = slots[order], starts[order], values[order]
        boundary = np.empty(len(slots), dtype=bool)
        boundary[0] = True
        np.not_equal(slots[1:], slots[:-1], out=boundary[1:])
        boundary[1:] |= starts[1:] != starts[:-1]
        heads = np.flatnonzero(boundary)
        g_slot, g_start = slots[heads], starts[heads]
        g_count = np.diff(np.append(heads, len(slots)))
        g_sum = np.add.reduceat(values, heads)
        g_min = np.minimum.reduceat(values, heads)
        g_max = np.maximum.reduceat(values, heads)

        s = self._slots
        open_start, open_count = s.start[g_slot], s.count[g_slot]
        same = (g_start == open_start) & (open_count > 0)
        newer = g_start > open_start
        late = ~(same | newer)
        if late.any():
            self._late.inc(int(g_count[late].sum()))

        merge = g_slot[same]
        s.count[merge] += g_count[same]
        s.sum[merge] += g_sum[same]
        np.minimum.at(s.min, merge, g_min[same])
        np.maximum.at(s.max, merge, g_max[same])

        last_of_slot = np.append(g_slot[1:] != g_slot[:-1], True)
        opening = newer & last_of_slot
        replaced = g_slot[opening]
        closed = [self._closed_slots(replaced[s.count[replaced] > 0])]
        passing = newer & ~last_of_slot
        closed.append(
            self._closed_rows(
                g_slot[passing],
                g_start[passing],
                g_count[passing],
                g_sum[passing],
                g_min[passing],
                g_max[passing],
            )
        )
        s.start[replaced] = g_start[opening]
        s.count[replaced] = g_count[opening]
        s.sum[replaced] = g_sum[opening]
        s.min[replaced] = g_min[opening]
        s.max[replaced] = g_max[opening]
        return closed

    # ---- flushing ----

    def flush_due(self) -> None:
        """Close every window whose end plus the grace has passed on the wall clock."""
        s = self._slots
        now = int(self._clock())
        size = s.size
        due = (s.count[:size] > 0) & (s.start[:size] + s.precision[:size] + self.drift.grace <= now)
        self._close(np.flatnonzero(due))

    def flush_all(self) -> None:
        """Close every open window (at shutdown)."""
        self._close(np.flatnonzero(self._slots.count[: self._slots.size] > 0))

    def _close(self, slots: IntArray) -> None:
        closed = self._closed_slots(slots)
        self._slots.count[slots] = 0
        self._hand_on([closed])

    def _hand_on(self, closed: list[SnapshotBatch]) -> None:
        """Emit the closed windows, with the paths first seen since the last emit."""
        out = SnapshotBatch.joined([batch for batch in closed if len(batch)])
        if self._new_paths:
            out.new_paths, self._new_paths = self._new_paths, []
        if len(out) or out.new_paths:
            self._emit(out)

    def _closed_slots(self, slots: IntArray) -> SnapshotBatch:
        s = self._slots
        return self._closed_rows(
            slots, s.start[slots], s.count[slots], s.sum[slots], s.min[slots], s.max[slots]
        )

    def _closed_rows(
        self,
        slots: IntArray,
        starts: IntArray,
        counts: IntArray,
        sums: FloatArray,
        mins: FloatArray,
        maxs: FloatArray,
    ) -> SnapshotBatch:
        s = self._slots
        self._flushed.inc(len(slots))
        return SnapshotBatch(
            self._table,
            s.path_id[slots].astype(np.int64),
            s.precision[slots].astype(np.int64),
            s.period[slots].astype(np.int64),
            starts,
            counts,
            sums,
            mins,
            maxs,
        )
