"""Functions that work along time: buckets, moving windows, shifts to another range."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np

from cyanite_py.api.attime import parse_interval, parse_offset
from cyanite_py.api.functions.evaluate import Context, Lazy
from cyanite_py.api.functions.registry import Function, Param
from cyanite_py.api.functions.series import (
    RenderSeries,
    aggregator,
    nan_array,
)
from cyanite_py.api.limits import LimitExceeded
from cyanite_py.model import FloatArray

SeriesList = list[RenderSeries]


def bucket_values(
    series: RenderSeries, func: str, interval: int, first: int, buckets: int
) -> FloatArray:
    """Points grouped into `buckets` buckets of `interval` seconds from `first`, each reduced.

    A bucket needs `x_files_factor` of the points it could hold, as graphite's summarize.
    """
    count = min(len(series.values), math.ceil((series.end - series.start) / series.step))
    times = series.start + np.arange(count) * series.step
    index = (times - first) // interval
    inside = (index >= 0) & (index < buckets)
    index, values = index[inside], series.values[:count][inside]
    if not len(values):
        return nan_array(buckets)
    firsts = np.searchsorted(index, np.arange(buckets))
    offsets = np.arange(len(index)) - firsts[index]
    matrix = np.full((buckets, int(offsets.max()) + 1), np.nan)
    matrix[index, offsets] = values
    reduced = aggregator(func)(matrix)
    counts = np.count_nonzero(~np.isnan(matrix), axis=1)
    expected = interval / series.step
    keep = (counts > 0) & (counts / expected >= series.x_files_factor)
    result: FloatArray = np.where(keep, reduced, np.nan)
    return result


async def summarize(
    ctx: Context, series_list: SeriesList, interval_text: str, func: str, align_to_from: bool
) -> SeriesList:
    """Points summed (or otherwise reduced) per interval, buckets on the interval's grid
    unless `alignToFrom`, where they start at the series' start."""
    interval = parse_interval(interval_text)
    results = []
    for series in series_list:
        if align_to_from:
            first, end = series.start, series.end
        else:
            first = series.start - series.start % interval
            end = series.end - series.end % interval + interval
        buckets = math.ceil((end - first) / interval)
        ctx.budget.charge(buckets, f"summarize into {interval_text!r} buckets")
        if align_to_from:
            end = first + buckets * interval
        suffix = ", true" if align_to_from else ""
        results.append(
            series.derive(
                f'summarize({series.name}, "{interval_text}", "{func}"{suffix})',
                bucket_values(series, func, interval, first, buckets),
                {"summarize": interval_text, "summarizeFunction": func},
                start=first,
                end=end,
                step=interval,
            )
        )
    return results


def moving_average_values(values: FloatArray, points: int, x_files_factor: float) -> FloatArray:
    """For each point from `points` on, the average of the `points` points before it."""
    if points <= 0:
        return nan_array(max(len(values), 0))
    missing = np.isnan(values)
    sums = np.concatenate(([0.0], np.cumsum(np.where(missing, 0.0, values))))
    counts = np.concatenate(([0], np.cumsum(~missing)))
    length = len(values)
    window_sums = sums[points:length] - sums[: max(length - points, 0)]
    window_counts = counts[points:length] - counts[: max(length - points, 0)]
    with np.errstate(invalid="ignore", divide="ignore"):
        averages = window_sums / window_counts
    keep = (window_counts > 0) & (window_counts / points >= x_files_factor)
    result: FloatArray = np.where(keep, averages, np.nan)
    return result


async def moving_average(
    ctx: Context, source: Lazy, window: int | str, x_files_factor: float | None
) -> SeriesList:
    """The average of the preceding window (points, or a time like '5min'), read with the
    data before the range so the first points have a full window."""
    if isinstance(window, str):
        preview = abs(parse_offset(window))
        label = f'"{window}"'
    else:
        _check_window(ctx, window)
        current = await source.over(ctx.start, ctx.end)
        if not current:
            return []
        preview = max(series.step for series in current) * window
        label = str(window)
    results = []
    for series in await source.over(ctx.start - preview, ctx.end):
        points = preview // series.step if isinstance(window, str) else window
        _check_window(ctx, points)
        factor = series.x_files_factor if x_files_factor is None else x_files_factor
        results.append(
            series.derive(
                f"movingAverage({series.name},{label})",
                moving_average_values(series.values, points, factor),
                {"movingAverage": window},
                start=series.start + preview,
            )
        )
    return results


def _check_window(ctx: Context, points: int) -> None:
    """Refuse a window of more points than a whole request may lay out."""
    if points > ctx.budget.limit:
        raise LimitExceeded(
            f"movingAverage window of {points} points is over api.max_points ({ctx.budget.limit})"
        )


def _dst_correction(ctx: Context, delta: int) -> int:
    """An hour to add when one range is all in daylight saving time and the other all out."""

    def in_dst(moment: int) -> bool:
        try:
            return bool(datetime.fromtimestamp(moment, ctx.tz).dst())
        except (OverflowError, OSError, ValueError):  # beyond the dates a zone can tell
            return False

    asked = (in_dst(ctx.start), in_dst(ctx.end))
    shifted = (in_dst(ctx.start + delta), in_dst(ctx.end + delta))
    if asked == (True, True) and shifted == (False, False):
        return 3600
    if asked == (False, False) and shifted == (True, True):
        return -3600
    return 0


async def time_shift(
    ctx: Context, source: Lazy, shift: str, reset_end: bool, align_dst: bool
) -> SeriesList:
    """The series read over a range shifted back (or forward with '+'), drawn over this one."""
    shift = f"-{shift}" if shift[:1].isdigit() else shift
    delta = parse_offset(shift)
    if align_dst:
        delta += _dst_correction(ctx, delta)
    results = []
    for series in await source.over(ctx.start + delta, ctx.end + delta):
        start = ctx.start - ctx.start % series.step + series.step
        end = ctx.end - ctx.end % series.step + series.step
        if not reset_end:
            end = series.end - series.start + start
        results.append(
            series.derive(
                f'timeShift({series.name}, "{shift}")',
                tags={"timeShift": shift},
                path_expression=series.path_expression,
                start=start,
                end=end,
            )
        )
    return results


_SERIES = Param("seriesList", "seriesList", required=True)
_WINDOWS = (5, 7, 10, "1min", "5min", "10min", "30min", "1hour")

FUNCTIONS = (
    Function(
        "summarize",
        "Transform",
        "Points reduced per interval (sum by default), buckets aligned to the interval "
        "or, with alignToFrom, to the start of the range.",
        (
            _SERIES,
            Param("intervalString", "interval", required=True, suggestions=("10min", "1h", "1d")),
            Param("func", "aggFunc", default="sum"),
            Param("alignToFrom", "boolean", default=False),
        ),
        summarize,
    ),
    Function(
        "movingAverage",
        "Calculate",
        "The average of the preceding points, over a number of points or a time such as '5min'.",
        (
            _SERIES,
            Param("windowSize", "intOrInterval", required=True, suggestions=_WINDOWS),
            Param("xFilesFactor", "float"),
        ),
        moving_average,
        lazy=True,
    ),
    Function(
        "timeShift",
        "Transform",
        "The series from another time ('1d' is a day back, '+1h' an hour ahead) drawn "
        "over this range.",
        (
            _SERIES,
            Param(
                "timeShift",
                "interval",
                required=True,
                suggestions=("1h", "6h", "12h", "1d", "2d", "7d", "14d", "30d"),
            ),
            Param("resetEnd", "boolean", default=True),
            Param("alignDst", "boolean", default=False),
        ),
        time_shift,
        lazy=True,
    ),
)
