"""Reads series for the HTTP APIs: stored windows plus the engine's open ones.

Both Cyanite's `/metrics` and graphite-web's `/render` come through `Reader.fetch`, so
they choose resolutions and show the newest, not yet flushed, window the same way.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import trio

from cyanite_py.index.base import Index, Node, TagIndex
from cyanite_py.index.glob import has_wildcard
from cyanite_py.model import FloatArray, OpenWindow, Resolution, Series, Windows
from cyanite_py.store.base import Store, StoreUnavailable
from cyanite_py.tags import TagQuery

NO_WINDOWS = Windows.empty()


class LiveView(Protocol):
    """What the reader needs of the engine."""

    def resolutions_for(self, path: str) -> tuple[Resolution, ...]:
        """The resolutions the rules give `path`, finest first."""
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


class Reader:
    """Finds paths and fetches their series, aligned to each series' resolution."""

    def __init__(
        self,
        store: Store,
        index: Index,
        live: LiveView,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._index = index
        self._live = live
        self._clock = clock

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

    async def fetch(
        self, paths: Sequence[str], start: int, end: int, aggregate: str = "mean"
    ) -> list[Series]:
        """One series per path covering the windows that start in `[start, end]`.

        Each path is read at the finest resolution of its rule whose period reaches back
        to `start` from now; the engine's open window overlays what the store holds.
        """
        age = max(self.now() - start, 0)
        groups: dict[Resolution, list[str]] = defaultdict(list)
        for path in paths:
            resolutions = self._live.resolutions_for(path)
            groups[choose_resolution(resolutions, age)].append(path)
        results: dict[str, Series] = {}

        async def read_group(resolution: Resolution, group: list[str]) -> None:
            step = resolution.precision
            first = start - start % step
            last = end - end % step + step
            stored = await self._store.read(group, resolution, first, last, aggregate)
            for path in group:
                series = stored.get(path) or NO_WINDOWS.series(path, first, last, step, aggregate)
                self._overlay_open(series, resolution, aggregate)
                results[path] = series

        try:
            async with trio.open_nursery() as nursery:
                for resolution, group in groups.items():
                    nursery.start_soon(read_group, resolution, group)
        except BaseExceptionGroup as failed:
            raise backend_error(failed) from None
        return [results[path] for path in paths]

    def _overlay_open(self, series: Series, resolution: Resolution, aggregate: str) -> None:
        """Put the engine's open window, newer than anything stored, into `series`."""
        live = self._live.open_window(series.path, resolution)
        if live is not None and series.start <= live[0] < series.end and live[1] > 0:
            series.values[(live[0] - series.start) // series.step] = _aggregate_open(
                live, aggregate
            )


def backend_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The store's own error out of a group of concurrent reads, so the API can answer 503."""
    matched, _ = group.split(StoreUnavailable)
    error: BaseException | None = matched
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return group if error is None else error


def _aggregate_open(window: OpenWindow, aggregate: str) -> float:
    _, count, total, low, high = window
    return {
        "mean": total / count,
        "sum": total,
        "min": low,
        "max": high,
        "count": float(count),
    }[aggregate]


def regrid(series: Series, step: int, aggregate: str) -> Series:
    """`series` at a coarser `step` (a multiple of its own), buckets aligned to `step`."""
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
    return Series(series.path, start, step, _reduce(buckets, aggregate))


def _reduce(buckets: FloatArray, aggregate: str) -> FloatArray:
    """Aggregate each row ignoring NaN; a row of only NaN stays NaN."""
    empty = np.isnan(buckets).all(axis=1)
    filled = np.where(np.isnan(buckets), 0.0, buckets)
    result: FloatArray
    if aggregate == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            result = filled.sum(axis=1) / (~np.isnan(buckets)).sum(axis=1)
    elif aggregate in ("sum", "count"):
        result = filled.sum(axis=1)
    elif aggregate == "min":
        result = np.where(np.isnan(buckets), np.inf, buckets).min(axis=1)
    else:
        result = np.where(np.isnan(buckets), -np.inf, buckets).max(axis=1)
    result[empty] = np.nan
    return result
