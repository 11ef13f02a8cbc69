"""`/status`: what the built-in page's status view shows, in one small JSON answer.

Counts are totals since start; the page turns two answers into rates. The store and the
index are probed with a read of a path that does not exist, bounded by `PROBE_SECONDS`,
so a store or index that is away shows as such within a few seconds. The last warnings
and errors logged are kept by `RecentProblems`, a logging handler on the package's logger.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from cyanite_py import __version__
from cyanite_py.counters import Registry
from cyanite_py.index.base import IndexUnavailable
from cyanite_py.query import Reader
from cyanite_py.store.base import StoreUnavailable

PROBE_PATH = "cyanite_status_probe"
"""A path no client writes; reading it costs one index lookup and one store read."""
PROBE_SECONDS = 3.0
KEPT_PROBLEMS = 50

COUNTERS = {
    "points_in": "input_points_received",
    "points_aggregated": "engine_points",
    "snapshots_written": "snapshots_written",
    "points_dropped": "input_points_dropped",
    "datagrams_dropped": "input_datagrams_dropped",
    "lines_rejected": "input_rejected",
    "buffer_full_waits": "store_buffer_full_waits",
    "write_errors": "store_write_errors",
    "write_retries": "store_write_retries",
    "requests": "api_requests",
}
"""The counters shown, by the name the page reads them under."""

GAUGES = {
    "series": "engine_series",
    "open_windows": "engine_open_windows",
    "paths": "index_paths",
    "buffered": "store_buffer_snapshots",
    "engine_queue": "engine_queue_depth",
}


class RecentProblems(logging.Handler):
    """Keeps the last warnings and errors logged, for the page to list."""

    def __init__(self, kept: int = KEPT_PROBLEMS) -> None:
        super().__init__(logging.WARNING)
        self.records: deque[dict[str, Any]] = deque(maxlen=kept)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(
            {
                "time": record.created,
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage()[:1000],
            }
        )


PROBLEMS = RecentProblems()
"""One per process, whatever number of apps are built (as tests build many)."""


def watch_problems() -> RecentProblems:
    """Attach `PROBLEMS` to the package's logger, once."""
    logger = logging.getLogger("cyanite_py")
    if PROBLEMS not in logger.handlers:
        logger.addHandler(PROBLEMS)
    return PROBLEMS


class Status:
    """Builds the status answer from the registry, probes and recent problems."""

    def __init__(self, reader: Reader, registry: Registry) -> None:
        self._reader = reader
        self._registry = registry
        self._problems = watch_problems()
        self._started = time.time()

    async def report(self) -> dict[str, Any]:
        registry = self._registry
        return {
            "version": __version__,
            "time": time.time(),
            "uptime": time.time() - self._started,
            "counters": {key: registry.total(name) for key, name in COUNTERS.items()},
            "gauges": {key: self._gauge(name) for key, name in GAUGES.items()},
            "index": await _probe(self._reader.find, PROBE_PATH),
            "store": await _probe(self._read_probe),
            "problems": list(reversed(self._problems.records)),
        }

    async def _read_probe(self) -> None:
        now = self._reader.now()
        await self._reader.fetch([PROBE_PATH], now - 60, now)

    def _gauge(self, name: str) -> float:
        """A gauge summed over its labels; 0 when nothing registered it."""
        return sum(
            gauge.read() for (found, _), gauge in self._registry.gauges.items() if found == name
        )


async def _probe(call: Callable[..., Awaitable[object]], *args: str) -> dict[str, Any]:
    """`{"ok", "milliseconds", "message"}` for one call of the store or the index."""
    started = time.perf_counter()
    message = None
    with trio.move_on_after(PROBE_SECONDS) as scope:
        try:
            await call(*args)
        except (StoreUnavailable, IndexUnavailable) as error:
            message = str(error)[:500] or type(error).__name__
    if scope.cancelled_caught:
        message = f"no answer within {PROBE_SECONDS:g} s"
    elapsed = (time.perf_counter() - started) * 1000
    return {"ok": message is None, "milliseconds": round(elapsed, 1), "message": message}
