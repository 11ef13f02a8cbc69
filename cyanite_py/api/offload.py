"""Heavy request work in worker threads, so the event loop keeps serving inputs and /ping.

A job is an async function of a `Source` that never waits on the event loop itself: its
reads are handed back to the loop with `trio.from_thread.run`, and everything else
(evaluation, consolidation, encoding) runs in the thread, where numpy releases the GIL
and the interpreter hands it back every few milliseconds. At most `max_concurrent` jobs
run at once; a job still running at its deadline is abandoned, answers 503, and stops at
its next read or step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

import trio

from cyanite_py.api.bounded import BoundedReader, ReadLimits
from cyanite_py.api.limits import Budget, Deadline, TimedOut
from cyanite_py.counters import Registry
from cyanite_py.index.base import Node
from cyanite_py.model import Aggregate, Series
from cyanite_py.query import Reader
from cyanite_py.tags import TagQuery

T = TypeVar("T")
Job = Callable[["ThreadSource"], Coroutine[Any, Any, T]]


class ThreadSource:
    """The request's reader, called from a worker thread: each call runs on the event loop."""

    def __init__(self, reader: BoundedReader) -> None:
        self.reader = reader
        self.budget = reader.budget
        self.deadline = reader.deadline

    def now(self) -> int:
        return self.reader.now()

    def check_glob(self, pattern: str) -> None:
        self.reader.check_glob(pattern)

    async def find(self, pattern: str) -> list[Node]:
        return self._on_loop(self.reader.find, pattern)

    async def expand(self, patterns: Sequence[str]) -> list[str]:
        return self._on_loop(self.reader.expand, patterns)

    async def find_series(self, query: TagQuery) -> list[str]:
        return self._on_loop(self.reader.find_series, query)

    async def event_times(self, start: int, end: int, tags: tuple[str, ...]) -> list[float]:
        return self._on_loop(self.reader.event_times, start, end, tags)

    async def fetch(
        self,
        paths: Sequence[str],
        start: int,
        end: int,
        aggregate: Aggregate | None = None,
    ) -> list[Series]:
        return self._on_loop(self.reader.fetch, paths, start, end, aggregate)

    def _on_loop(self, function: Callable[..., Awaitable[T]], *args: Any) -> T:
        self.deadline.check()
        return trio.from_thread.run(function, *args)


class Evaluator:
    """Runs each request's job in a worker thread, within the request's bounds:
    `max_concurrent` jobs at a time, each within `timeout` seconds and its cell budget."""

    def __init__(
        self,
        reader: Reader,
        limits: ReadLimits,
        max_concurrent: int,
        timeout: float,
        registry: Registry,
    ) -> None:
        self.reader = reader
        self.limits = limits
        self.timeout = timeout
        self._limiter = trio.CapacityLimiter(max_concurrent)
        self._timed_out = registry.counter(
            "api_requests_timed_out", "requests abandoned at api.timeout"
        )
        registry.gauge(
            "api_jobs_running",
            "requests evaluating in worker threads",
            lambda: float(self._limiter.borrowed_tokens),
        )

    def now(self) -> int:
        return self.reader.now()

    async def run(self, job: Job[T]) -> T:
        deadline = Deadline(self.timeout)
        bounded = BoundedReader(self.reader, self.limits, Budget(self.limits.max_points), deadline)
        source = ThreadSource(bounded)
        try:
            with trio.move_on_after(self.timeout):
                return await trio.to_thread.run_sync(
                    _drive, job, source, limiter=self._limiter, abandon_on_cancel=True
                )
        finally:
            deadline.abandoned = True  # done, timed out or cancelled: any work left stops
        self._timed_out.inc()
        raise TimedOut(f"the request ran past api.timeout ({self.timeout:g} s)")


def _drive(job: Job[T], source: ThreadSource) -> T:
    """Run a job's coroutine, which never suspends (its waits happen on the event loop)."""
    coroutine = job(source)
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("a job waited on the event loop from its worker thread")
