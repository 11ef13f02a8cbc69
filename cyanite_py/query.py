"""Reads series for the HTTP APIs: stored windows plus the engine's open ones.

Both Cyanite's `/metrics` and graphite-web's `/render` come through `Reader.fetch`, so
they choose resolutions, take each path's aggregate (the query's, else its rule's) and
show the newest, not yet flushed, window the same way.

A window of a coarser resolution holds a value only if it covers `x_files_factor` of its
finer windows (those of the next finer resolution of its rule), as whisper's archives
do. A window knows how many points it holds, not which finer windows they fell in, so
it counts as covering `count` of them: exact for series that send at most one point a
finer window (collectd, sFlow agents, statsd), generous for series that send faster.
"""

from __future__ import annotations

import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import trio

from cyanite_py.index.base import Index, Node, TagIndex
from cyanite_py.index.glob import has_wildcard
from cyanite_py.model import (
    Aggregate,
    FloatArray,
    OpenWindow,
    Resolution,
    Rollup,
    Series,
    Windows,
)
from cyanite_py.store.base import EventStore, Store, StoreUnavailable
from cyanite_py.store.events import EventQuery, tagged_query
from cyanite_py.tags import TagQuery

NO_WINDOWS = Windows.empty()


class LiveView(Protocol):
    """What the reader needs of the engine."""

    def resolutions_for(self, path: str) -> tuple[Resolution, ...]:
        """The resolutions the rules give `path`, finest first."""
        ...

    def rollup_for(self, path: str) -> Rollup:
        """How the rules roll `path`'s windows up."""
        ...

    def open_window(self, path: str, resolution: Resolution) -> OpenWindow | None:
        """The window of `path` at `resolution` not yet flushed, if any."""
        ...


def choose_resolution(resolutions: Sequence[Resolution], age: int) -> Resolution:
    """The finest resolution whose period reaches back `age` seconds, else the longest kept."""
    for resolution in resolutions:
        if resolution.period >= age:
            return resolution
    return max(resolutions, key=lambda r: r.period)


def least_points(
    resolutions: Sequence[Resolution], resolution: Resolution, x_files_factor: float
) -> int:
    """The points a window at `resolution` must hold to cover `x_files_factor` of the
    windows of the next finer resolution within it (0: any window holds a value)."""
    finer = [r.precision for r in resolutions if r.precision < resolution.precision]
    if not finer or not x_files_factor:
        return 0
    return math.ceil(round(x_files_factor * resolution.precision / max(finer), 9))


@dataclass(frozen=True, slots=True)
class _Read:
    """One store read: paths read alike."""

    resolution: Resolution
    aggregate: Aggregate
    x_files_factor: float
    least_points: int


class Reader:
    """Finds paths and fetches their series, aligned to each series' resolution."""

    def __init__(
        self,
        store: Store,
        index: Index,
        live: LiveView,
        clock: Callable[[], float] = time.time,
        events: EventStore | None = None,
    ) -> None:
        self._store = store
        self._index = index
        self._live = live
        self._clock = clock
        self._events = events

    def now(self) -> int:
        return int(self._clock())

    def resolutions_for(self, path: str) -> tuple[Resolution, ...]:
        """The resolutions the rules give `path`, finest first."""
        return self._live.resolutions_for(path)

    async def find(self, pattern: str) -> list[Node]:
        """Nodes matching a glob, branches and leaves, sorted by path."""
        return await self._index.find(pattern)

    async def expand(self, patterns: Sequence[str]) -> list[str]:
        """The leaf paths matching any of the globs, sorted, without repeats."""
        leaves: set[str] = set()
        for pattern in patterns:
            if has_wildcard(pattern):
                leaves.update(node.path for node in await self._index.find(pattern) if node.leaf)
            else:
                leaves.add(pattern)
        return sorted(leaves)

    @property
    def tags(self) -> TagIndex:
        """The index's tag queries, for graphite-web's `/tags` routes."""
        return self._index

    async def find_series(self, query: TagQuery, limit: int = sys.maxsize) -> list[str]:
        """The tagged paths `query` matches, sorted, at most `limit` of them."""
        return await self._index.find_series(query, limit)

    async def event_times(
        self, start: int, end: int, tags: tuple[str, ...], limit: int = sys.maxsize
    ) -> list[float]:
        """When the events in `[start, end]` carrying `tags` (all, if none) happened, at
        most `limit` of them, matched as graphite-web's `events()` matches them."""
        if self._events is None:
            return []
        query = (
            await tagged_query(self._events, start, end, limit, tags)
            if tags
            else EventQuery(start, end, limit)
        )
        found = [] if query is None else await self._events.find_events(query)
        return [event.when for event in found]

    async def fetch(
        self, paths: Sequence[str], start: int, end: int, aggregate: Aggregate | None = None
    ) -> list[Series]:
        """One series per path covering the windows that start in `[start, end]`.

        Each path is read at the finest resolution of its rule whose period reaches back
        to `start` from now, as `aggregate` or else its rule's; the engine's open window
        overlays what the store holds.
        """
        age = max(self.now() - start, 0)
        groups: dict[_Read, list[str]] = defaultdict(list)
        for path in paths:
            resolutions = self._live.resolutions_for(path)
            rollup = self._live.rollup_for(path)
            resolution = choose_resolution(resolutions, age)
            least = least_points(resolutions, resolution, rollup.x_files_factor)
            read = _Read(resolution, aggregate or rollup.aggregate, rollup.x_files_factor, least)
            groups[read].append(path)
        results: dict[str, Series] = {}

        async def read_group(read: _Read, group: list[str]) -> None:
            resolution, aggregate = read.resolution, read.aggregate
            step = resolution.precision
            first = start - start % step
            last = end - end % step + step
            stored = await self._store.read(group, resolution, first, last, aggregate)
            counts: dict[str, Series] = {}
            if read.least_points > 1:
                counts = await self._store.read(group, resolution, first, last, Aggregate.COUNT)
            for path in group:
                series = stored.get(path) or NO_WINDOWS.series(path, first, last, step, aggregate)
                series.x_files_factor = read.x_files_factor
                self._overlay_open(series, resolution)
                if read.least_points > 1:
                    count = counts.get(path) or NO_WINDOWS.series(
                        path, first, last, step, Aggregate.COUNT
                    )
                    self._overlay_open(count, resolution)
                    series.values[~(count.values >= read.least_points)] = np.nan
                results[path] = series

        try:
            async with trio.open_nursery() as nursery:
                for read, group in groups.items():
                    nursery.start_soon(read_group, read, group)
        except BaseExceptionGroup as failed:
            raise backend_error(failed) from None
        return [results[path] for path in paths]

    def _overlay_open(self, series: Series, resolution: Resolution) -> None:
        """Put the engine's open window, newer than anything stored, into `series`."""
        live = self._live.open_window(series.path, resolution)
        if live is not None and series.start <= live[0] < series.end and live[1] > 0:
            series.values[(live[0] - series.start) // series.step] = _aggregate_open(
                live, series.aggregate
            )


def backend_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The store's own error out of a group of concurrent reads, so the API can answer 503."""
    matched, _ = group.split(StoreUnavailable)
    error: BaseException | None = matched
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return group if error is None else error


def _aggregate_open(window: OpenWindow, aggregate: Aggregate) -> float:
    _, count, total, low, high, last = window
    return {
        Aggregate.MEAN: total / count,
        Aggregate.SUM: total,
        Aggregate.MIN: low,
        Aggregate.MAX: high,
        Aggregate.COUNT: float(count),
        Aggregate.LAST: last,
    }[aggregate]


def regrid(series: Series, step: int) -> Series:
    """`series` at a coarser `step` (a multiple of its own), buckets aligned to `step`,
    each bucket rolled up as the series says: by its aggregate, holding a value only if
    its `x_files_factor` of the series' steps within it hold one."""
    if step == series.step:
        return series
    if step % series.step:
        raise ValueError(f"step {step} is not a multiple of {series.step}")
    ratio = step // series.step
    start = series.start - series.start % step
    lead = (series.start - start) // series.step
    count = -(-(lead + len(series.values)) // ratio)
    padded = np.full(count * ratio, np.nan)
    padded[lead : lead + len(series.values)] = series.values
    buckets = padded.reshape(count, ratio)
    values = _reduce(buckets, series.aggregate, series.x_files_factor)
    return Series(series.path, start, step, values, series.aggregate, series.x_files_factor)


def _reduce(buckets: FloatArray, aggregate: Aggregate, x_files_factor: float) -> FloatArray:
    """Roll each row up ignoring NaN: a row whose values are all NaN, or whose share of
    values is below `x_files_factor`, is NaN. Counts add up, as sums do; `last` is the
    row's last value."""
    known = ~np.isnan(buckets)
    held = known.sum(axis=1)
    filled = np.where(known, buckets, 0.0)
    result: FloatArray
    if aggregate == Aggregate.MEAN:
        with np.errstate(invalid="ignore", divide="ignore"):
            result = filled.sum(axis=1) / held
    elif aggregate in (Aggregate.SUM, Aggregate.COUNT):
        result = filled.sum(axis=1)
    elif aggregate == Aggregate.MIN:
        result = np.where(known, buckets, np.inf).min(axis=1)
    elif aggregate == Aggregate.MAX:
        result = np.where(known, buckets, -np.inf).max(axis=1)
    else:
        last_known = buckets.shape[1] - 1 - np.argmax(known[:, ::-1], axis=1)
        result = buckets[np.arange(len(buckets)), last_known]
    result[(held == 0) | (held / buckets.shape[1] < x_files_factor)] = np.nan
    return result
