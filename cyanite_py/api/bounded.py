"""The reader as a request sees it: globs, matches and cells bounded before any read.

A read's grid is clamped to what can exist (no earlier than the longest period of the
paths' resolutions, no later than `api.max_future` past now), then its cells are charged
to the request's budget before the reader allocates them, so `from=0` costs a month of
five-minute windows, not fifty years of them, and `to=20000000000` is refused, not tried.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cyanite_py.api.limits import Budget, Deadline, LimitExceeded
from cyanite_py.index.base import Node
from cyanite_py.index.glob import count_alternatives
from cyanite_py.model import Aggregate, Series
from cyanite_py.query import Reader, choose_resolution
from cyanite_py.tags import TagQuery


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """The configured bounds a bounded reader applies (see `ApiConfig`)."""

    max_points: int
    max_glob_alternatives: int
    max_future: int
    max_tag_series: int = 100_000
    max_events: int = 5_000


class BoundedReader:
    """Reads for one request: `find`, `expand`, `find_series` and `fetch` of `Reader`,
    within its bounds."""

    def __init__(
        self, reader: Reader, limits: ReadLimits, budget: Budget, deadline: Deadline
    ) -> None:
        self._reader = reader
        self._limits = limits
        self.budget = budget
        self.deadline = deadline
        # The reader's view of the rules; read here so cells are counted before a read.

    def now(self) -> int:
        return self._reader.now()

    def check_glob(self, pattern: str) -> None:
        """Refuse a glob whose braces spell out more names than `api.max_glob_alternatives`."""
        limit = self._limits.max_glob_alternatives
        if count_alternatives(pattern, limit) > limit:
            raise LimitExceeded(
                f"glob {pattern[:100]!r} spells out more than {limit} alternatives "
                "(api.max_glob_alternatives)"
            )

    async def find(self, pattern: str) -> list[Node]:
        self.deadline.check()
        self.check_glob(pattern)
        return await self._reader.find(pattern)

    async def expand(self, patterns: Sequence[str]) -> list[str]:
        self.deadline.check()
        for pattern in patterns:
            self.check_glob(pattern)
        return await self._reader.expand(patterns)

    async def find_series(self, query: TagQuery) -> list[str]:
        """The tagged paths `query` matches, refused past `api.max_tag_series`."""
        self.deadline.check()
        limit = self._limits.max_tag_series
        paths = await self._reader.find_series(query, limit + 1)
        if len(paths) > limit:
            raise LimitExceeded(
                f"tag expressions {query} match more than {limit} series "
                "(api.max_tag_series); add an expression to narrow them"
            )
        return paths

    async def event_times(self, start: int, end: int, tags: tuple[str, ...]) -> list[float]:
        """`Reader.event_times`, refused past `api.max_events`."""
        self.deadline.check()
        limit = self._limits.max_events
        times = await self._reader.event_times(start, end, tags, limit + 1)
        if len(times) > limit:
            raise LimitExceeded(
                f"more than {limit} events match (api.max_events); ask for a shorter range "
                "or more tags"
            )
        return times

    async def fetch(
        self,
        paths: Sequence[str],
        start: int,
        end: int,
        aggregate: Aggregate | None = None,
    ) -> list[Series]:
        """`Reader.fetch` over the clamped range, once its cells fit the budget."""
        self.deadline.check()
        start, end = self.clamp(paths, start, end)
        self.budget.charge(self.cells(paths, start, end), f"reading {len(paths)} series")
        return await self._reader.fetch(paths, start, end, aggregate)

    def clamp(self, paths: Sequence[str], start: int, end: int) -> tuple[int, int]:
        """`[start, end]` cut to the time any of `paths` can hold data for."""
        now = self.now()
        end = min(end, now + self._limits.max_future)
        periods = [
            resolution.period for path in paths for resolution in self._reader.resolutions_for(path)
        ]
        if periods:
            start = max(start, min(now - max(periods), end))
        return start, max(start, end)

    def cells(self, paths: Sequence[str], start: int, end: int) -> int:
        """How many cells `Reader.fetch` lays out for `paths` over `[start, end]`."""
        age = max(self.now() - start, 0)
        total = 0
        for path in paths:
            step = choose_resolution(self._reader.resolutions_for(path), age).precision
            total += (end - end % step) // step - (start - start % step) // step + 2
        return total
