"""Windows one at a time, for tests: the package only ever hands windows on in columns
(`SnapshotBatch`), while a test reads best as a list of windows written out by hand."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from cyanite_py.model import NO_TIME, SnapshotBatch


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One closed window of one path at one resolution."""

    path: str
    precision: int
    period: int
    time: int
    count: int
    sum: float
    min: float
    max: float
    last: float | None = None
    """The value of the window's last point: the one with the latest time, of those the
    latest to arrive; None when unknown."""
    last_time: int | None = None
    """The time of that point, which decides which part's `last` wins when parts merge."""

    @property
    def mean(self) -> float:
        return self.sum / self.count


def batch_of(snapshots: Iterable[Snapshot], new_paths: Iterable[str] = ()) -> SnapshotBatch:
    """A batch of these windows, in order, and of `new_paths`."""
    rows = list(snapshots)
    columns = (
        np.array([row.precision for row in rows], dtype=np.int64),
        np.array([row.period for row in rows], dtype=np.int64),
        np.array([row.time for row in rows], dtype=np.int64),
        np.array([row.count for row in rows], dtype=np.int64),
        np.array([row.sum for row in rows], dtype=np.float64),
        np.array([row.min for row in rows], dtype=np.float64),
        np.array([row.max for row in rows], dtype=np.float64),
    )
    lasts = (
        np.array([math.nan if row.last is None else row.last for row in rows]),
        np.array([NO_TIME if row.last_time is None else row.last_time for row in rows]),
    )
    return SnapshotBatch.of_paths([row.path for row in rows], columns, new_paths, lasts)


def rows_of(batch: SnapshotBatch) -> Iterator[Snapshot]:
    """Each window of `batch`, in order."""
    for path, precision, period, t, count, total, low, high, last, at in batch.tuples():
        known = at != NO_TIME
        yield Snapshot(
            path,
            precision,
            period,
            t,
            count,
            total,
            low,
            high,
            last if known else None,
            at if known else None,
        )
