"""The interface every store implements, and the errors it may raise."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import trio

from cyanite_py.model import Aggregate, Resolution, Series, SnapshotBatch
from cyanite_py.store.events import Event, EventQuery, NewEvent


class StoreUnavailable(Exception):
    """The store cannot take or answer a request now; the caller may retry later."""


class EventStore(Protocol):
    """Keeps events (graphite-web's annotations) until they are deleted; each method
    raises `StoreUnavailable` when the store cannot answer."""

    async def add_event(self, new: NewEvent) -> Event:
        """Store `new` under an id of its own, and return it so numbered."""
        ...

    async def get_event(self, event_id: int) -> Event | None: ...

    async def delete_event(self, event_id: int) -> bool:
        """Remove the event; whether there was one."""
        ...

    async def find_events(self, query: EventQuery) -> list[Event]:
        """The events `query` selects, oldest first, at most `query.limit`."""
        ...

    async def known_tags(self, tags: Sequence[str]) -> set[str]:
        """Those of `tags` that some event was ever stored with (graphite-web's default
        tag match leaves the others out of a query)."""
        ...


class Store(Protocol):
    """Keeps snapshots per (path, resolution, window start) and the set of known paths.

    `run` opens connections and serves until cancelled. `write` persists a whole batch
    (snapshots and new paths) or raises `StoreUnavailable`. Snapshots expire after their
    resolution's period.

    A snapshot may be only part of its window, and the same window is written many
    times: the engine writes the points of each open window every
    `engine.checkpoint_interval` as a partial snapshot and starts it again from zero, a
    late point becomes a partial snapshot of its own, and replays, restarts and several
    servers write the same windows again. So writing a window MERGES it into what is
    stored (counts and sums added, minima and maxima combined, the last point of the
    latest time kept, the part written later winning a tie), in any order, and a read
    returns the merge. A coarse window can receive up to `precision / checkpoint_interval`
    parts, so a store folds a window's parts together (when it compacts, or when a row
    outgrows its capacity) rather than keeping each part for the whole period.
    """

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Open the store, report readiness, and serve until cancelled."""
        ...

    async def write(self, batch: SnapshotBatch) -> None:
        """Persist every snapshot and new path in `batch`."""
        ...

    async def read(
        self,
        paths: Sequence[str],
        resolution: Resolution,
        start: int,
        end: int,
        aggregate: Aggregate,
    ) -> dict[str, Series]:
        """`aggregate` of each path's windows with `start <= time < end`,
        as `Windows.series` lays them out; a path with no windows may be absent. Only the
        one aggregate comes back, so a read of many long series stays small."""
        ...

    async def load_paths(self) -> list[str]:
        """Every path ever written, to rebuild an index at start-up."""
        ...

    async def load_paths_since(self, cursor: int) -> tuple[list[str], int]:
        """The paths written since `cursor` (0: every path) and the cursor to ask with next,
        so an index learns the paths that other servers write to a shared store. A path may
        come back more than once; the cursor means something to its own store only."""
        ...


class StoreWithEvents(Store, Protocol):
    """A store that also keeps the events posted to the API, as every configurable store
    does; the parts that only write or read windows ask for a plain `Store`."""

    @property
    def events(self) -> EventStore:
        """Where this store keeps events."""
        ...
