"""The bridge between the Cassandra driver's I/O thread and trio.

Requests are sent from the trio thread and their completion is handed back through the
trio token, so a request costs a callback, not a thread, and the trio loop never blocks.
"""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import trio
from cassandra.cluster import ResponseFuture
from cassandra.policies import HostStateListener

from cyanite_py.counters import Counter
from cyanite_py.store.cassandra.layout import Block

log = logging.getLogger(__name__)

Handler = Callable[[list[Any]], None]
"""Takes the rows of one answered request, in the trio thread."""
Request = tuple[Any, Sequence[Any] | None, Handler]
"""A statement (prepared, bound, batch or CQL text), its values, and what to do with its
rows."""


class Calls:
    """The requests of one store call, answered through the trio token.

    The driver's thread gathers every page of a request, then hands the rows to
    `_answered` in the trio thread, which frees an in-flight slot and passes them on; the
    calling task sleeps only while every slot is taken, and for the last answers.
    """

    def __init__(self, slots: trio.Semaphore) -> None:
        self._slots = slots
        self._token = trio.lowlevel.current_trio_token()
        self._idle: trio.Event | None = None
        self.pending = 0
        self.error: Exception | None = None

    def track(self, future: ResponseFuture, handle: Handler) -> None:
        self.pending += 1
        pages: list[Any] = []

        def page(rows: list[Any] | None) -> None:
            if rows:
                pages.extend(rows)
            if future.has_more_pages:
                future.start_fetching_next_page()
            else:
                self._soon(handle, pages, None)

        def fail(error: Exception) -> None:
            self._soon(handle, pages, error)

        future.add_callbacks(page, fail)

    def _soon(self, handle: Handler, rows: list[Any], error: Exception | None) -> None:
        # An answer may arrive after the trio loop ended: nobody is waiting for it then.
        with contextlib.suppress(trio.RunFinishedError):
            self._token.run_sync_soon(self._answered, handle, rows, error)

    def _answered(self, handle: Handler, rows: list[Any], error: Exception | None) -> None:
        self._slots.release()
        self.pending -= 1
        if error is None:
            try:
                handle(rows)
            except Exception as failed:
                error = failed
        if error is not None and self.error is None:
            self.error = error
        if self._idle is not None and (self.pending == 0 or self.error is not None):
            self._idle.set()

    async def wait(self) -> None:
        """Until every answer is in, or one failed."""
        if self.pending and self.error is None:
            self._idle = trio.Event()
            await self._idle.wait()
        else:
            await trio.lowlevel.checkpoint()


class HostEvents(HostStateListener):  # type: ignore[misc]
    """Counts hosts coming back; the driver calls it from its own threads."""

    def __init__(self, up: Counter, down: Counter) -> None:
        self._up = up
        self._down = down

    def on_up(self, host: Any) -> None:
        self._up.inc()
        log.info("cassandra host %s is up", host)

    def on_down(self, host: Any) -> None:
        self._down.inc()
        log.warning("cassandra host %s is down", host)

    def on_add(self, host: Any) -> None:
        pass

    def on_remove(self, host: Any) -> None:
        pass


def ignore(rows: list[Any]) -> None:
    """The answer to a statement that returns no rows."""


def file_by_path(blocks: defaultdict[str, list[Block]], rows: Counter) -> Handler:
    """The handler that files a read's rows by path into `blocks`."""

    def keep(found: list[Block]) -> None:
        for row in found:
            blocks[row[0]].append(row)
        rows.inc(len(found))

    return keep
