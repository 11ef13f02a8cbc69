"""Values that cross component boundaries: durations, resolutions, batches, series.

Batches are columnar (one list per field) because Python pays per object: inputs,
the engine and the stores all work on whole columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
KeyArray = npt.NDArray[np.uint32]

UNIT_SECONDS = {
    "s": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "y": 365 * 86400,
}
_DURATION = re.compile(r"^\s*(\d+)\s*([a-z]*)\s*$")


def parse_duration(text: str | int) -> int:
    """Seconds in `"10s"`, `"5m"`, `"1d"`, `"2w"`, `"1y"`; a bare number is seconds."""
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"negative duration: {text}")
        return text
    match = _DURATION.match(text)
    if match is None or (match.group(2) and match.group(2) not in UNIT_SECONDS):
        raise ValueError(f"not a duration: {text!r} (use a number and one of s, m, h, d, w, y)")
    return int(match.group(1)) * UNIT_SECONDS.get(match.group(2), 1)


def format_duration(seconds: int) -> str:
    """The shortest exact spelling of `seconds`, as `parse_duration` reads it."""
    for unit in ("y", "w", "d", "h", "m"):
        size = UNIT_SECONDS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True, slots=True, order=True)
class Resolution:
    """Windows `precision` seconds wide, kept for `period` seconds."""

    precision: int
    period: int

    def __post_init__(self) -> None:
        if self.precision <= 0:
            raise ValueError("a resolution's precision must be positive")
        if self.period < self.precision:
            raise ValueError("a resolution's period must be at least its precision")

    @classmethod
    def parse(cls, text: str) -> Resolution:
        """Read Cyanite's `"precision:period"`, e.g. `"10s:1d"`."""
        precision, sep, period = text.partition(":")
        if not sep:
            raise ValueError(f"resolution {text!r} is not 'precision:period', e.g. '10s:1d'")
        return cls(parse_duration(precision), parse_duration(period))

    def __str__(self) -> str:
        return f"{format_duration(self.precision)}:{format_duration(self.period)}"


@dataclass(slots=True)
class PointBatch:
    """Points in columns: point i is `(paths[i], values[i], times[i])`."""

    paths: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    times: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.paths)

    def as_points(self) -> PointBatch:
        """This batch, as every `EngineBatch` spells itself with paths."""
        return self

    def extend(self, other: PointBatch) -> None:
        self.paths.extend(other.paths)
        self.values.extend(other.values)
        self.times.extend(other.times)


class PathTable:
    """A parse worker's numbering of the paths it has seen: key `k` is `names[k]`.

    Points from a worker carry keys instead of paths, so each path's text crosses from
    the worker once; the engine keeps its own translation of each table's keys.
    """

    __slots__ = ("__weakref__", "names")

    def __init__(self) -> None:
        self.names: list[str] = []


@dataclass(slots=True)
class KeyedPoints:
    """Points in numpy columns whose paths are keys into `table`."""

    table: PathTable
    keys: KeyArray
    values: FloatArray
    times: IntArray

    def __len__(self) -> int:
        return len(self.keys)

    def as_points(self) -> PointBatch:
        """The same points with their paths spelled out."""
        names = self.table.names
        return PointBatch(
            list(map(names.__getitem__, self.keys.tolist())),
            self.values.tolist(),
            self.times.tolist(),
        )


EngineBatch = PointBatch | KeyedPoints
"""What inputs hand the engine."""


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

    @property
    def mean(self) -> float:
        return self.sum / self.count


@dataclass(slots=True)
class SnapshotBatch:
    """Closed windows in columns, plus paths first seen since the previous batch."""

    paths: list[str] = field(default_factory=list)
    precisions: list[int] = field(default_factory=list)
    periods: list[int] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    sums: list[float] = field(default_factory=list)
    mins: list[float] = field(default_factory=list)
    maxs: list[float] = field(default_factory=list)
    new_paths: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.paths)

    def tuples(self) -> Iterator[tuple[str, int, int, int, int, float, float, float]]:
        """`(path, precision, period, time, count, sum, min, max)` per snapshot, cheaply."""
        return zip(
            self.paths,
            self.precisions,
            self.periods,
            self.times,
            self.counts,
            self.sums,
            self.mins,
            self.maxs,
            strict=True,
        )

    def rows(self) -> Iterator[Snapshot]:
        for row in self.tuples():
            yield Snapshot(*row)

    def append(self, snapshot: Snapshot) -> None:
        self.paths.append(snapshot.path)
        self.precisions.append(snapshot.precision)
        self.periods.append(snapshot.period)
        self.times.append(snapshot.time)
        self.counts.append(snapshot.count)
        self.sums.append(snapshot.sum)
        self.mins.append(snapshot.min)
        self.maxs.append(snapshot.max)

    def extend(self, other: SnapshotBatch) -> None:
        self.paths.extend(other.paths)
        self.precisions.extend(other.precisions)
        self.periods.extend(other.periods)
        self.times.extend(other.times)
        self.counts.extend(other.counts)
        self.sums.extend(other.sums)
        self.mins.extend(other.mins)
        self.maxs.extend(other.maxs)
        self.new_paths.extend(other.new_paths)


AGGREGATES = ("mean", "sum", "min", "max", "count")


@dataclass(slots=True)
class Windows:
    """Stored windows of one path at one resolution, in columns sorted by time."""

    times: IntArray
    counts: FloatArray
    sums: FloatArray
    mins: FloatArray
    maxs: FloatArray

    @classmethod
    def empty(cls) -> Windows:
        return cls.from_rows([])

    @classmethod
    def from_rows(cls, rows: list[tuple[int, float, float, float, float]]) -> Windows:
        """Build from `(time, count, sum, min, max)` rows, in any order."""
        table = np.array(rows, dtype=np.float64).reshape(-1, 5)
        table = table[np.argsort(table[:, 0], kind="stable")]
        return cls(
            times=table[:, 0].astype(np.int64),
            counts=table[:, 1].copy(),
            sums=table[:, 2].copy(),
            mins=table[:, 3].copy(),
            maxs=table[:, 4].copy(),
        )

    def __len__(self) -> int:
        return len(self.times)

    def series(self, path: str, start: int, end: int, step: int, aggregate: str) -> Series:
        """`aggregate` of the windows with `start <= time < end` on a grid of `step` from
        `start` rounded down: NaN where no window is stored."""
        first = start - start % step
        values = np.full(-(-(end - first) // step), np.nan)
        low, high = np.searchsorted(self.times, (start, end)).tolist()
        if high > low:
            inside = Windows(
                self.times[low:high],
                self.counts[low:high],
                self.sums[low:high],
                self.mins[low:high],
                self.maxs[low:high],
            )
            slots = (inside.times - first) // step
            if slots[-1] - slots[0] == high - low - 1:  # no gaps: one slice, no index
                values[slots[0] : slots[-1] + 1] = inside.values(aggregate)
            else:
                values[slots] = inside.values(aggregate)
        return Series(path, first, step, values)

    def values(self, aggregate: str) -> FloatArray:
        """One column per window: `mean`, `sum`, `min`, `max` or `count`."""
        if aggregate == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                return self.sums / self.counts
        column: FloatArray = {
            "sum": self.sums,
            "min": self.mins,
            "max": self.maxs,
            "count": self.counts,
        }[aggregate]
        return column


@dataclass(slots=True)
class Series:
    """Evenly spaced values of one path: `values[i]` covers `start + i * step`; NaN is no data."""

    path: str
    start: int
    step: int
    values: FloatArray

    @property
    def end(self) -> int:
        return self.start + self.step * len(self.values)
