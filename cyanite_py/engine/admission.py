"""How many new series the engine takes: at most `max_series` in all, and at most
`max_new_series_per_minute` a minute, so a sender that invents paths (spoofed datagrams,
a runaway script) cannot grow memory without bound. Points of a path refused are dropped
and counted; the path is asked about again when its next points come."""

from __future__ import annotations

import time
from collections.abc import Callable

from cyanite_py.counters import Registry

MINUTE = 60.0


class SeriesAdmission:
    """Decides how many of a batch's new paths may become series now."""

    def __init__(
        self,
        max_series: int,
        max_per_minute: int,
        registry: Registry,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._max_series = max_series
        self._max_per_minute = max_per_minute
        self._clock = clock
        self._minute_started = clock()
        self._this_minute = 0
        self._refused = {
            reason: registry.counter(
                "engine_points_refused", "points of new paths refused, by the bound", reason=reason
            )
            for reason in ("max_series", "max_new_series_per_minute")
        }

    def admit(self, wanted: int, existing: int) -> int:
        """How many of `wanted` new paths may join `existing` series now (counted taken)."""
        room = wanted
        if self._max_series:
            room = min(room, max(self._max_series - existing, 0))
        if self._max_per_minute:
            now = self._clock()
            if now - self._minute_started >= MINUTE:
                self._minute_started, self._this_minute = now, 0
            room = min(room, max(self._max_per_minute - self._this_minute, 0))
            self._this_minute += room
        return room

    def refused(self, points: int, existing: int) -> None:
        """Count `points` dropped because their paths were not admitted."""
        full = bool(self._max_series) and existing >= self._max_series
        self._refused["max_series" if full else "max_new_series_per_minute"].inc(points)
