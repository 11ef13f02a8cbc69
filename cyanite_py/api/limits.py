"""The bounds every request is held to, checked before the work they bound is done.

`Budget` counts the cells (one value of one series at one step) a request lays out, as
reads and functions size their arrays; `Deadline` ends work that runs past `api.timeout`.
Going over either is the client's to fix: a 400 naming the key, or a 503 for time.
"""

from __future__ import annotations

import time

from cyanite_py.api.errors import BadRequest


class LimitExceeded(BadRequest):
    """A request over one of the configured bounds; the message names the key."""


class TimedOut(Exception):
    """A request still running at `api.timeout`: the API answers 503 and drops the work."""


class Budget:
    """Cells one request may lay out in all (`api.max_points`)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def charge(self, cells: int, what: str) -> None:
        """Count `cells` more, or refuse them before anything of that size is allocated."""
        self.used += max(cells, 0)
        if self.used > self.limit:
            raise LimitExceeded(
                f"{what} would lay out {self.used} points in all, over api.max_points "
                f"({self.limit}); ask for a shorter range, fewer series or a coarser interval"
            )


class Deadline:
    """When a request's work must stop (`api.timeout` after it started), checked between steps."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.abandoned = False

    def check(self) -> None:
        if self.abandoned or time.monotonic() > self.at:
            raise TimedOut(f"the request ran past api.timeout ({self.seconds:g} s)")


UNBOUNDED = 2**62
"""A budget for evaluations outside a request (tests, tools): nothing is refused."""
