"""A store in process memory: for tests, demos and servers that need no history.

It behaves like the SQLite store: a rewritten window merges into the stored one (counts
and sums added, min and max combined, the last point of the latest time kept, the part
written later winning a tie), and windows older than their period are expired
periodically. Everything is lost when the process stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Literal

import trio

from cyanite_py.counters import Registry
from cyanite_py.model import Aggregate, Resolution, Series, SnapshotBatch, Windows
from cyanite_py.settings import Duration, settings
from cyanite_py.store.events import MemoryEvents

Stored = list[float]
"""`[period, count, sum, min, max, last, last_time]` of one window, updated in place on
merge."""


@settings
class MemoryStoreConfig:
    """`store:` settings for `type: memory`."""

    type: Literal["memory"] = "memory"
    expire_interval: Duration = 60
    """How often windows older than their period are removed."""


class MemoryStore:
    """Windows kept in dicts keyed by path, precision and window start."""

    def __init__(
        self,
        config: MemoryStoreConfig,
        registry: Registry,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._clock = clock
        self._windows: dict[tuple[str, int], dict[int, Stored]] = {}
        self._paths: set[str] = set()
        self._path_log: list[str] = []
        """Paths in the order they were first written: `load_paths_since`'s cursor is a
        position in it."""
        self._written = registry.counter(
            "store_snapshots_written", "Snapshots persisted by the store", store="memory"
        )
        self._expired = registry.counter(
            "store_snapshots_expired", "Windows removed after their period", store="memory"
        )
        self.events = MemoryEvents()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            await trio.sleep(self._config.expire_interval)
            self.expire()

    async def write(self, batch: SnapshotBatch) -> None:
        await trio.lowlevel.checkpoint()
        windows = self._windows
        for path, precision, period, t, count, total, low, high, last, at in batch.tuples():
            series = windows.get((path, precision))
            if series is None:
                series = windows[(path, precision)] = {}
            stored = series.get(t)
            if stored is None:
                series[t] = [period, count, total, low, high, last, at]
            else:
                stored[0] = period
                stored[1] += count
                stored[2] += total
                stored[3] = min(stored[3], low)
                stored[4] = max(stored[4], high)
                if at >= stored[6]:
                    stored[5], stored[6] = last, at
        fresh = set(batch.path_names())
        fresh.update(batch.new_paths)
        fresh -= self._paths
        self._paths |= fresh
        self._path_log.extend(fresh)
        self._written.inc(len(batch))

    async def read(
        self,
        paths: Sequence[str],
        resolution: Resolution,
        start: int,
        end: int,
        aggregate: Aggregate,
    ) -> dict[str, Series]:
        await trio.lowlevel.checkpoint()
        found: dict[str, Series] = {}
        for path in paths:
            series = self._windows.get((path, resolution.precision))
            if series:
                windows = Windows.from_rows(
                    [
                        (t, w[1], w[2], w[3], w[4], w[5])
                        for t, w in series.items()
                        if start <= t < end
                    ]
                )
                found[path] = windows.series(path, start, end, resolution.precision, aggregate)
        return found

    async def load_paths(self) -> list[str]:
        await trio.lowlevel.checkpoint()
        return sorted(self._paths)

    async def load_paths_since(self, cursor: int) -> tuple[list[str], int]:
        await trio.lowlevel.checkpoint()
        return self._path_log[cursor:], len(self._path_log)

    def expire(self) -> int:
        """Remove windows that started more than their period ago; return how many."""
        now = self._clock()
        removed = 0
        for key, series in list(self._windows.items()):
            old = [t for t, w in series.items() if t < now - w[0]]
            for t in old:
                del series[t]
            removed += len(old)
            if not series:
                del self._windows[key]
        self._expired.inc(removed)
        return removed
