"""Values that cross component boundaries: durations, resolutions, batches, series.

Batches are columnar (one list per field) because Python pays per object: inputs,
the engine and the stores all work on whole columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
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

OpenWindow = tuple[int, int, float, float, float, float]
"""`(start, count, sum, min, max, last)` of a window still open in the engine."""

NO_TIME = int(np.iinfo(np.int64).min)
"""The time of the last point of a window that does not know its last point (written
before windows kept it): any known last point is later."""


def _ints() -> IntArray:
    return np.empty(0, dtype=np.int64)


def _floats() -> FloatArray:
    return np.empty(0, dtype=np.float64)


@dataclass(slots=True)
class SnapshotBatch:
    """Closed windows in numpy columns, plus paths first seen since the previous batch.
    Window `i` is of path `table.names[keys[i]]`: the engine's own numbering, so no window
    carries a string. Columns go from the engine to a store's encoder without becoming
    Python objects one window at a time.

    `lasts` and `last_times` are each window's last point (the one with the latest time, of
    those the latest to arrive) and its time, which decides whose last point wins when parts
    of a window merge; a batch built without them knows no window's last point."""

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
    lasts: FloatArray = field(default_factory=_floats)
    last_times: IntArray = field(default_factory=_ints)

    def __post_init__(self) -> None:
        if len(self.keys) and not len(self.lasts):
            self.lasts = np.full(len(self.keys), np.nan)
            self.last_times = np.full(len(self.keys), NO_TIME, dtype=np.int64)

    @classmethod
    def of_paths(
        cls,
        paths: Iterable[str],
        columns: Columns,
        new_paths: Iterable[str] = (),
        lasts: LastColumns | None = None,
    ) -> SnapshotBatch:
        """A batch whose window `i` is of `paths[i]`, with `columns` in field order, for
        callers that hold path names."""
        table, keys = PathTable.numbering(paths)
        return cls(table, keys, *columns, list(new_paths), *(lasts or ()))

    @classmethod
    def joined(cls, batches: Sequence[SnapshotBatch]) -> SnapshotBatch:
        """One batch holding every snapshot and new path of `batches`, in order."""
        if len(batches) == 1:
            return batches[0]
        if not batches:
            return cls()
        new_paths = [path for batch in batches for path in batch.new_paths]
        columns = _columns(lambda name: np.concatenate([getattr(b, name) for b in batches]))
        lasts = _last_columns(lambda name: np.concatenate([getattr(b, name) for b in batches]))
        table = batches[0].table
        if any(batch.table is not table for batch in batches):
            paths = (path for batch in batches for path in batch.path_names())
            return cls.of_paths(paths, columns, new_paths, lasts)
        keys = np.concatenate([batch.keys for batch in batches])
        return cls(table, keys, *columns, new_paths, *lasts)

    def __len__(self) -> int:
        return len(self.keys)

    def split(self, size: int) -> tuple[SnapshotBatch, SnapshotBatch]:
        """The first `size` snapshots (with all new paths), and the rest."""
        head = SnapshotBatch(
            self.table,
            self.keys[:size],
            *_columns(lambda name: getattr(self, name)[:size]),
            self.new_paths,
            *_last_columns(lambda name: getattr(self, name)[:size]),
        )
        rest = SnapshotBatch(
            self.table,
            self.keys[size:],
            *_columns(lambda name: getattr(self, name)[size:]),
            [],
            *_last_columns(lambda name: getattr(self, name)[size:]),
        )
        return head, rest

    def path_names(self) -> list[str]:
        """The path of each snapshot."""
        names = self.table.names
        return [names[key] for key in self.keys.tolist()]

    def tuples(
        self,
    ) -> Iterator[tuple[str, int, int, int, int, float, float, float, float, int]]:
        """`(path, precision, period, time, count, sum, min, max, last, last_time)` per
        snapshot."""
        columns = (getattr(self, name).tolist() for name in (*COLUMNS, *LAST_COLUMNS))
        return zip(self.path_names(), *columns, strict=True)


COLUMNS = ("precisions", "periods", "times", "counts", "sums", "mins", "maxs")
"""`SnapshotBatch`'s numpy columns after the keys, in field order."""

LAST_COLUMNS = ("lasts", "last_times")
"""`SnapshotBatch`'s columns of each window's last point, after the new paths."""

Columns = tuple[IntArray, IntArray, IntArray, IntArray, FloatArray, FloatArray, FloatArray]
LastColumns = tuple[FloatArray, IntArray]


def _columns(column: Callable[[str], Any]) -> Columns:
    """`column(name)` for each of `COLUMNS`, in order."""
    precisions, periods, times, counts, sums, mins, maxs = map(column, COLUMNS)
    return precisions, periods, times, counts, sums, mins, maxs


def _last_columns(column: Callable[[str], Any]) -> LastColumns:
    """`column(name)` for each of `LAST_COLUMNS`, in order."""
    lasts, last_times = map(column, LAST_COLUMNS)
    return lasts, last_times


class Aggregate(StrEnum):
    """What a read takes of each window. Parsed once where it enters (a request's
    parameter, a rule in the configuration); everything past that holds the enum."""

    MEAN = "mean"
    SUM = "sum"
    MIN = "min"
    MAX = "max"
    COUNT = "count"
    LAST = "last"

    @classmethod
    def parse(cls, text: str) -> Aggregate:
        """`text` as an aggregate, `average` (carbon's name) meaning `mean`; a ValueError
        naming the choices otherwise."""
        try:
            return cls(ALIASES.get(text, text))
        except ValueError:
            choices = ", ".join(member.value for member in cls)
            raise ValueError(f"must be one of {choices} (or average), not {text!r}") from None


ALIASES = {"average": "mean"}
"""Other spellings of an aggregate: carbon's storage-aggregation.conf says `average`."""


@dataclass(frozen=True, slots=True)
class Rollup:
    """How a path's windows are rolled up when a read does not say: the `aggregate` read
    from each window and from each coarser bucket of windows, and the `x_files_factor`,
    the fraction of a coarser window's finer windows that must hold data for it to hold a
    value (carbon's xFilesFactor)."""

    aggregate: Aggregate = Aggregate.MEAN
    x_files_factor: float = 0.0


@dataclass(slots=True)
class Windows:
    """Stored windows of one path at one resolution, in columns sorted by time. Without
    `lasts` (or where it is NaN) a window does not know its last point, and reads its
    mean as its last: windows written before windows kept their last point."""

    times: IntArray
    counts: FloatArray
    sums: FloatArray
    mins: FloatArray
    maxs: FloatArray
    lasts: FloatArray | None = None

    @classmethod
    def empty(cls) -> Windows:
        return cls.from_rows([])

    @classmethod
    def from_rows(cls, rows: list[tuple[int, float, float, float, float, float]]) -> Windows:
        """Build from `(time, count, sum, min, max, last)` rows, in any order."""
        table = np.array(rows, dtype=np.float64).reshape(-1, 6)
        table = table[np.argsort(table[:, 0], kind="stable")]
        return cls(
            times=table[:, 0].astype(np.int64),
            counts=table[:, 1].copy(),
            sums=table[:, 2].copy(),
            mins=table[:, 3].copy(),
            maxs=table[:, 4].copy(),
            lasts=table[:, 5].copy(),
        )

    def __len__(self) -> int:
        return len(self.times)

    def series(self, path: str, start: int, end: int, step: int, aggregate: Aggregate) -> Series:
        """`aggregate` of the windows with `start <= time < end` on a grid of `step` from
        `start` rounded down: NaN where no window is stored."""
        first = start - start % step
        values = np.full(-(-(end - first) // step), np.nan)
        low, high = np.searchsorted(self.times, (start, end)).tolist()
        if high > low:
            inside = self.between(low, high).values(aggregate)
            slots = (self.times[low:high] - first) // step
            if slots[-1] - slots[0] == high - low - 1:  # no gaps: one slice, no index
                values[slots[0] : slots[-1] + 1] = inside
            else:
                values[slots] = inside
        return Series(path, first, step, values, aggregate)

    def between(self, low: int, high: int) -> Windows:
        """Windows `low` to `high` (positions), as views."""
        return Windows(
            self.times[low:high],
            self.counts[low:high],
            self.sums[low:high],
            self.mins[low:high],
            self.maxs[low:high],
            None if self.lasts is None else self.lasts[low:high],
        )

    def values(self, aggregate: Aggregate) -> FloatArray:
        """One column per window, as `aggregate` takes it."""
        if aggregate in (Aggregate.MEAN, Aggregate.LAST):
            with np.errstate(invalid="ignore", divide="ignore"):
                means: FloatArray = self.sums / self.counts
            if aggregate == Aggregate.MEAN or self.lasts is None:
                return means
            return np.where(np.isnan(self.lasts), means, self.lasts)
        column: FloatArray = {
            Aggregate.SUM: self.sums,
            Aggregate.MIN: self.mins,
            Aggregate.MAX: self.maxs,
            Aggregate.COUNT: self.counts,
        }[aggregate]
        return column


@dataclass(slots=True)
class Series:
    """Evenly spaced values of one path: `values[i]` covers `start + i * step`; NaN is no
    data. `aggregate` is what each value took of its window, and with `x_files_factor`
    says how values roll up into coarser steps."""

    path: str
    start: int
    step: int
    values: FloatArray
    aggregate: Aggregate = Aggregate.MEAN
    x_files_factor: float = 0.0

    @property
    def end(self) -> int:
        return self.start + self.step * len(self.values)
