"""One log line every `logging.interval` saying what moved since the last one.

An operator tailing the log sees the server is alive and keeping up (points in, snapshots
written, series, the writer's buffer, what was dropped) without scraping `/prometheus`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import trio

from cyanite_py.counters import Registry

log = logging.getLogger(__name__)

RATES = {"points_in": "input_points_received", "written": "snapshots_written"}
"""Counters shown per second: what came in, what the store accepted."""

DROPS = {
    "points": "input_points_dropped",
    "datagrams": "input_datagrams_dropped",
    "rejected": "input_rejected",
}
"""Counters shown as counts since the last line: what was not kept."""


class Summary:
    """Logs the registry's main figures every `interval` seconds (0: never)."""

    def __init__(
        self, interval: int, registry: Registry, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self._registry = registry
        self._clock = clock
        self._last_time = clock()
        self._last = self._totals()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Log a line every interval until cancelled."""
        task_status.started()
        if not self.interval:
            return
        while True:
            await trio.sleep(self.interval)
            log.info("%s", self.line())

    def line(self) -> str:
        """The figures since the previous line (or since this was built)."""
        now, totals = self._clock(), self._totals()
        elapsed = max(now - self._last_time, 1e-9)
        moved = {name: totals[name] - self._last[name] for name in totals}
        self._last_time, self._last = now, totals
        dropped = ", ".join(f"{moved[name]} {name}" for name in DROPS)
        return (
            f"{moved['points_in'] / elapsed:,.0f} points/s in, "
            f"{moved['written'] / elapsed:,.0f} snapshots/s written, "
            f"{self._gauge('engine_series'):,.0f} series, "
            f"{self._gauge('store_buffer_snapshots'):,.0f} snapshots buffered; "
            f"dropped: {dropped}"
        )

    def _totals(self) -> dict[str, int]:
        counters = {**RATES, **DROPS}
        return {name: self._registry.total(counter) for name, counter in counters.items()}

    def _gauge(self, name: str) -> float:
        """A gauge summed over its labels, 0 when nothing registered it."""
        return sum(
            gauge.read() for (found, _), gauge in self._registry.gauges.items() if found == name
        )
