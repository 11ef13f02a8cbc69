"""The series functions work on, and the column-wise reductions they share.

A `RenderSeries` is graphite-web's TimeSeries: values with a name, the path expression
that produced it, tags, and how to consolidate it when it must be drawn with fewer
points. Values are a float64 array with NaN for graphite's None.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import reduce
from typing import Any

import numpy as np

from cyanite_py.model import FloatArray, Series
from cyanite_py.tags import series_tags


class InputError(ValueError):
    """A target the functions cannot evaluate as asked: the API answers 400 with the message."""


@dataclass(slots=True)
class RenderSeries:
    """One series being rendered; `values[i]` covers `start + i * step`, NaN is no data.

    `end` is kept apart from the values, as graphite does: output stops at the shorter
    of the values and the timestamps `range(start, end + 1, step * values_per_point)`.
    """

    name: str
    path_expression: str
    start: int
    end: int
    step: int
    values: FloatArray
    tags: dict[str, str] = field(default_factory=dict)
    consolidation_func: str = "average"
    x_files_factor: float = 0.0
    values_per_point: int = 1

    def __post_init__(self) -> None:
        if not self.tags:
            self.tags = series_tags(self.name)

    @classmethod
    def from_model(
        cls, series: Series, path_expression: str, x_files_factor: float = 0.0
    ) -> RenderSeries:
        return cls(
            name=series.path,
            path_expression=path_expression,
            start=series.start,
            end=series.end,
            step=series.step,
            values=series.values,
            x_files_factor=x_files_factor,
        )

    def derive(
        self,
        name: str,
        values: FloatArray | None = None,
        tags: Mapping[str, object] | None = None,
        **changes: Any,
    ) -> RenderSeries:
        """A copy renamed (its path expression too), with new values and added tags.

        Tag values are kept as text, as graphite's Tags do.
        """
        added = {key: str(value) for key, value in (tags or {}).items()}
        changes.setdefault("path_expression", name)
        return replace(
            self,
            name=name,
            values=self.values if values is None else values,
            tags={**self.tags, **added},
            **changes,
        )

    def renamed(self, name: str) -> RenderSeries:
        """A copy with a new name only, as graphite's aliases leave the path expression."""
        return replace(self, name=name)


def nan_array(length: int) -> FloatArray:
    return np.full(length, np.nan)


def _count(matrix: FloatArray) -> FloatArray:
    counts: FloatArray = np.count_nonzero(~np.isnan(matrix), axis=1).astype(np.float64)
    return counts


def _sum(matrix: FloatArray) -> FloatArray:
    return _where_any(matrix, np.nansum(matrix, axis=1))


def _average(matrix: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return _where_any(matrix, np.nansum(matrix, axis=1) / _count(matrix))


def _average_zero(matrix: FloatArray) -> FloatArray:
    return _where_any(matrix, np.nansum(matrix, axis=1) / max(matrix.shape[1], 1))


def _median(matrix: FloatArray) -> FloatArray:
    if matrix.shape[1] == 0:
        return nan_array(matrix.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result: FloatArray = np.nanmedian(matrix, axis=1)
    return result


def _min(matrix: FloatArray) -> FloatArray:
    return _where_any(matrix, np.fmin.reduce(matrix, axis=1, initial=np.inf))


def _max(matrix: FloatArray) -> FloatArray:
    return _where_any(matrix, np.fmax.reduce(matrix, axis=1, initial=-np.inf))


def _first(matrix: FloatArray) -> FloatArray:
    present = ~np.isnan(matrix)
    index = np.argmax(present, axis=1)
    return _where_any(matrix, _take(matrix, index))


def _last(matrix: FloatArray) -> FloatArray:
    present = ~np.isnan(matrix)
    index = matrix.shape[1] - 1 - np.argmax(present[:, ::-1], axis=1)
    return _where_any(matrix, _take(matrix, index))


def _diff(matrix: FloatArray) -> FloatArray:
    first = _first(matrix)
    result: FloatArray = first - (np.nansum(matrix, axis=1) - first)
    return result


def _stddev(matrix: FloatArray) -> FloatArray:
    mean = _average(matrix)
    with np.errstate(invalid="ignore", divide="ignore"):
        squares = np.nansum((matrix - mean[:, None]) ** 2, axis=1)
        return _where_any(matrix, np.sqrt(squares / _count(matrix)))


def _range(matrix: FloatArray) -> FloatArray:
    return _max(matrix) - _min(matrix)


def _multiply(matrix: FloatArray) -> FloatArray:
    """A product, None as soon as one factor is None (graphite's safeMul)."""
    return _where_any(matrix, np.prod(matrix, axis=1))


def _count_values(matrix: FloatArray) -> FloatArray:
    return _where_any(matrix, _count(matrix))


def _take(matrix: FloatArray, index: Any) -> FloatArray:
    if matrix.shape[1] == 0:
        return nan_array(matrix.shape[0])
    taken: FloatArray = np.take_along_axis(matrix, index[:, None], axis=1)[:, 0]
    return taken


def _where_any(matrix: FloatArray, result: Any) -> FloatArray:
    """`result` where a row has a value, NaN where the row is empty."""
    chosen: FloatArray = np.where(_count(matrix) > 0, result, np.nan)
    return chosen


Reducer = Callable[[FloatArray], FloatArray]

AGGREGATORS: dict[str, Reducer] = {
    "average": _average,
    "avg_zero": _average_zero,
    "median": _median,
    "sum": _sum,
    "min": _min,
    "max": _max,
    "diff": _diff,
    "stddev": _stddev,
    "count": _count_values,
    "range": _range,
    "multiply": _multiply,
    "last": _last,
    "rangeOf": _range,
    "avg": _average,
    "total": _sum,
    "current": _last,
}
"""graphite-web's aggregation functions and their aliases, each reducing the rows of a matrix."""

CONSOLIDATORS: dict[str, Reducer] = {
    "sum": _sum,
    "average": _average,
    "avg": _average,
    "avg_zero": _average_zero,
    "max": _max,
    "min": _min,
    "first": _first,
    "last": _last,
}
"""How consecutive points are merged into one (consolidateBy, maxDataPoints, step changes)."""


def aggregator(name: str) -> Reducer:
    """The aggregation function `name` (`sum`, `avg`, ... or `sumSeries`)."""
    found = AGGREGATORS.get(name.removesuffix("Series") if name.endswith("Series") else name)
    if found is None:
        raise InputError(f"unsupported aggregation function: {name!r}")
    return found


def reduce_rows(matrix: FloatArray, function: Reducer, x_files_factor: float) -> FloatArray:
    """Each row reduced, NaN where fewer than `x_files_factor` of its cells hold values."""
    reduced = function(matrix)
    width = matrix.shape[1]
    if width == 0:
        return nan_array(matrix.shape[0])
    counts = _count(matrix)
    keep = (counts > 0) & (counts / width >= x_files_factor)
    kept: FloatArray = np.where(keep, reduced, np.nan)
    return kept


def consolidate(series: RenderSeries, values_per_point: int) -> FloatArray:
    """Every `values_per_point` consecutive values merged by the series' function."""
    values = series.values
    if values_per_point <= 1:
        return values
    function = CONSOLIDATORS.get(series.consolidation_func)
    if function is None:
        raise InputError(f"invalid consolidation function: {series.consolidation_func!r}")
    buckets = math.ceil(len(values) / values_per_point)
    padded = np.full(buckets * values_per_point, np.nan)
    padded[: len(values)] = values
    matrix = padded.reshape(buckets, values_per_point)
    return reduce_rows(matrix, function, series.x_files_factor)


def lcm(steps: Sequence[int]) -> int:
    return reduce(math.lcm, steps, 1)


@dataclass(frozen=True, slots=True)
class Normalized:
    """Series brought to one step: a matrix with one row per series, padded with NaN."""

    series: list[RenderSeries]
    matrix: FloatArray
    start: int
    end: int
    step: int


def normalize(series_list: Sequence[RenderSeries]) -> Normalized:
    """graphite's normalize: consolidate to the steps' least common multiple, pad to one length."""
    if not series_list:
        raise InputError("no series to combine")
    step = lcm([series.step for series in series_list])
    rows = [consolidate(series, step // series.step) for series in series_list]
    width = max(len(row) for row in rows)
    matrix = np.full((len(rows), width), np.nan)
    for index, row in enumerate(rows):
        matrix[index, : len(row)] = row
    start = min(series.start for series in series_list)
    end = max(series.end for series in series_list)
    end -= (end - start) % step
    return Normalized(list(series_list), matrix, start, end, step)


def format_path_expressions(series_list: Sequence[RenderSeries]) -> str:
    """The distinct path expressions, in order, joined by commas."""
    return ",".join(dict.fromkeys(series.path_expression for series in series_list))


def common_tags(series_list: Sequence[RenderSeries]) -> dict[str, str]:
    """The tags every series shares with the same value."""
    tags = dict(series_list[0].tags)
    for series in series_list[1:]:
        tags = {key: value for key, value in tags.items() if series.tags.get(key) == value}
    return tags


def format_number(value: float) -> str:
    """A number as graphite prints it in names, with `%g`."""
    return f"{value:g}"
