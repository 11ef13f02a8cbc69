"""Numpy columns that grow in place, so per-path and per-slot state stays vectorised."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from cyanite_py.model import FloatArray, IntArray

Int32Array = npt.NDArray[np.int32]


def grown_capacity(capacity: int, needed: int) -> int:
    """A quarter more than now, or what is needed: copies stay amortised, and an array
    holds at most a quarter more rows than it has, where doubling could hold twice."""
    return max(needed, capacity + capacity // 4)


class GrowingColumn:
    """An array that grows by a quarter; rows added by `grow` start at zero."""

    def __init__(self, dtype: type[np.generic] = np.int64) -> None:
        self._data: npt.NDArray[Any] = np.zeros(1024, dtype=dtype)
        self._size = 0

    @property
    def values(self) -> npt.NDArray[Any]:
        """The rows in use, as a view: writes to it stay in the column."""
        return self._data[: self._size]

    def __len__(self) -> int:
        return self._size

    def extend(self, values: npt.NDArray[Any]) -> None:
        start = self._size
        self.grow(len(values))
        self._data[start : self._size] = values

    def grow(self, rows: int) -> None:
        if self._size + rows > len(self._data):
            grown = np.zeros(grown_capacity(len(self._data), self._size + rows), self._data.dtype)
            grown[: self._size] = self.values
            self._data = grown
        self._size += rows


SLOT_COLUMNS: dict[str, type[np.generic]] = {
    "start": np.int64,
    "count": np.int64,
    "sum": np.float64,
    "min": np.float64,
    "max": np.float64,
    "last": np.float64,
    # Seconds from the window's start to its last point: less than a precision, which
    # int32 holds, 4 bytes a slot less than a time.
    "last_offset": np.int32,
    "unsaved_count": np.int64,
    "unsaved_sum": np.float64,
    "reopened": np.bool_,
    # int32 is ample for these three and saves 12 bytes a slot (24 MB a million paths).
    "precision": np.int32,
    "period": np.int32,
    "path_id": np.int32,
}


class Slots:
    """One row per (path, resolution): its open window (start, count, sum, min, max, and
    its last point's value and offset from the start), the part of that window's count
    and sum not yet handed to the store, whether the window was closed once already (so
    the store holds an earlier part of it), and what the row is.

    A slot whose `count` is 0 has no open window. The attributes are views of growing
    columns, so in-place numpy updates reach the columns; `allocate` renews the views."""

    start: IntArray
    count: IntArray
    sum: FloatArray
    min: FloatArray
    max: FloatArray
    last: FloatArray
    last_offset: Int32Array
    unsaved_count: IntArray
    unsaved_sum: FloatArray
    reopened: npt.NDArray[np.bool_]
    precision: Int32Array
    period: Int32Array
    path_id: Int32Array

    def __init__(self) -> None:
        self._columns = {name: GrowingColumn(dtype) for name, dtype in SLOT_COLUMNS.items()}
        self._renew_views()

    def __len__(self) -> int:
        return len(self.start)

    def allocate(self, path_ids: IntArray, precisions: IntArray, periods: IntArray) -> None:
        """Rows for new paths: row `i` belongs to `path_ids[i]`, at that resolution."""
        for name, column in self._columns.items():
            if name == "precision":
                column.extend(precisions)
            elif name == "period":
                column.extend(periods)
            elif name == "path_id":
                column.extend(path_ids)
            else:
                column.grow(len(path_ids))
        self._renew_views()

    def _renew_views(self) -> None:
        for name, column in self._columns.items():
            setattr(self, name, column.values)
