"""Values that cross component boundaries: durations, resolutions, batches, series.

Batches are columnar (one list per field) because Python pays per object: inputs,
the engine and the stores all work on whole columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

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


class PathTable:
    """A numbering of paths, only ever appended to: key `k` is `names[k]`.

    A parse worker numbers the paths it reads and the engine the paths it aggregates.
    Points and snapshots carry keys instead of paths, so each path's text crosses a
    boundary once, and whoever receives them keeps its own translation of each table's
    keys (the engine into its ids, the SQLite store into its path ids).
    """

    __slots__ = ("__weakref__", "names")

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names: list[str] = list(names)

    @classmethod
    def numbering(cls, paths: Iterable[str]) -> tuple[PathTable, IntArray]:
        """A table of the distinct `paths`, and each path's key in it."""
        index: dict[str, int] = {}
        keys = [index.setdefault(path, len(index)) for path in paths]
        return cls(index), np.array(keys, dtype=np.int64)


@dataclass(slots=True)
class KeyedPoints:
    """Points in numpy columns whose paths are keys into `table`."""

    table: PathTable
    keys: KeyArray
    values: FloatArray
    times: IntArray

    def __len__(self) -> int:
        return len(self.keys)


EngineBatch = PointBatch | KeyedPoints
"""What inputs hand the engine."""

OpenWindow = tuple[int, int, float, float, float]
"""`(start, count, sum, min, max)` of a window still open in the engine."""


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


def _ints() -> IntArray:
    return np.empty(0, dtype=np.int64)


def _floats() -> FloatArray:
    return np.empty(0, dtype=np.float64)


@dataclass(slots=True)
class SnapshotBatch:
    """Closed windows in numpy columns, plus paths first seen since the previous batch.
    Window `i` is of path `table.names[keys[i]]`: the engine's own numbering, so no window
    carries a string. Columns go from the engine to a store's encoder without becoming
    Python objects one window at a time."""

    table: PathTable = field(default_factory=PathTable)
    keys: IntArray = field(default_factory=_ints)
    precisions: IntArray = field(default_factory=_ints)
    periods: IntArray = field(default_factory=_ints)
    times: IntArray = field(default_factory=_ints)
    counts: IntArray = field(default_factory=_ints)
    sums: FloatArray = field(default_factory=_floats)
    mins: FloatArray = field(default_factory=_floats)
    maxs: FloatArray = field(default_factory=_floats)
    new_paths: list[str] = field(default_factory=list)

    @classmethod
    def of_paths(
        cls, paths: Iterable[str], columns: Columns, new_paths: Iterable[str] = ()
    ) -> SnapshotBatch:
        """A batch whose window `i` is of `paths[i]`, with `columns` in field order, for
        callers that hold path names."""
        table, keys = PathTable.numbering(paths)
        return cls(table, keys, *columns, list(new_paths))

    @classmethod
    def of(cls, snapshots: Iterable[Snapshot], new_paths: Iterable[str] = ()) -> SnapshotBatch:
        """A batch of these snapshots, for callers that build one window at a time."""
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
        return cls.of_paths([row.path for row in rows], columns, new_paths)

    @classmethod
    def joined(cls, batches: Sequence[SnapshotBatch]) -> SnapshotBatch:
        """One batch holding every snapshot and new path of `batches`, in order."""
        if len(batches) == 1:
            return batches[0]
        if not batches:
            return cls()
        new_paths = [path for batch in batches for path in batch.new_paths]
        columns = _columns(lambda name: np.concatenate([getattr(b, name) for b in batches]))
        table = batches[0].table
        if any(batch.table is not table for batch in batches):
            paths = (path for batch in batches for path in batch.path_names())
            return cls.of_paths(paths, columns, new_paths)
        keys = np.concatenate([batch.keys for batch in batches])
        return cls(table, keys, *columns, new_paths)

    def __len__(self) -> int:
        return len(self.keys)

    def split(self, size: int) -> tuple[SnapshotBatch, SnapshotBatch]:
        """The first `size` snapshots (with all new paths), and the rest."""
        head = SnapshotBatch(
            self.table,
            self.keys[:size],
            *_columns(lambda name: getattr(self, name)[:size]),
            self.new_paths,
        )
        rest = SnapshotBatch(
            self.table, self.keys[size:], *_columns(lambda name: getattr(self, name)[size:])
        )
        return head, rest

    def path_names(self) -> list[str]:
        """The path of each snapshot."""
        names = self.table.names
        return [names[key] for key in self.keys.tolist()]

    def tuples(self) -> Iterator[tuple[str, int, int, int, int, float, float, float]]:
        """`(path, precision, period, time, count, sum, min, max)` per snapshot."""
        columns = (getattr(self, name).tolist() for name in COLUMNS)
        return zip(self.path_names(), *columns, strict=True)

    def rows(self) -> Iterator[Snapshot]:
        for row in self.tuples():
            yield Snapshot(*row)


COLUMNS = ("precisions", "periods", "times", "counts", "sums", "mins", "maxs")
"""`SnapshotBatch`'s numpy columns after the keys, in field order."""

Columns = tuple[IntArray, IntArray, IntArray, IntArray, FloatArray, FloatArray, FloatArray]


def _columns(column: Callable[[str], Any]) -> Columns:
    """`column(name)` for each of `COLUMNS`, in order."""
    precisions, periods, times, counts, sums, mins, maxs = map(column, COLUMNS)
    return precisions, periods, times, counts, sums, mins, maxs


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
