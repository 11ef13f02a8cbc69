"""Functions that work along time: buckets and shifts to another range."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from cyanite_py.api.attime import parse_interval, parse_offset
from cyanite_py.api.functions.evaluate import Context, Lazy
from cyanite_py.api.functions.registry import Function, Param
from cyanite_py.api.functions.series import (
    RenderSeries,
    aggregator,
    nan_array,
)
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
_ALIGNMENTS = (None, "years", "months", "weeks", "days", "hours", "minutes", "seconds", True, False)

FUNCTIONS: tuple[Function, ...] = (
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


def hit_values(series: RenderSeries, first: int, interval: int, buckets: int) -> FloatArray:
    """Hits (value x seconds) per bucket of `interval` from `first`: a point covers its
    step and is shared by overlap between the buckets it spans; None where none does."""
    count = len(series.values)
    present = ~np.isnan(series.values)
    rates = np.where(present, series.values, 0.0)
    totals = np.concatenate(([0.0], np.cumsum(rates * series.step)))
    edges = first + np.arange(buckets + 1) * interval

    def hits_before(moment: Any) -> Any:
        moment = np.maximum(moment, series.start)
        index = np.clip((moment - series.start) // series.step, 0, count)
        inside = np.minimum(index, count - 1)
        partial = rates[inside] * (moment - (series.start + inside * series.step))
        return totals[index] + np.where(index < count, partial, 0.0)

    if count == 0:
        return nan_array(buckets)
    sums = hits_before(edges[1:]) - hits_before(edges[:-1])
    starts = series.start + np.flatnonzero(present) * series.step
    low = np.clip((starts - first) // interval, 0, buckets)
    high = np.clip(-(-(starts + series.step - first) // interval), 0, buckets)
    marks = np.zeros(buckets + 1, dtype=np.int64)
    np.add.at(marks, low, 1)
    np.add.at(marks, high, -1)
    covered = np.cumsum(marks[:-1]) > 0
    result: FloatArray = np.where(covered, sums, np.nan)
    return result


def _truncated(ctx: Context, interval: int) -> int:
    """The range's start cut to its day, hour or minute (in the request's zone)."""
    unit = "days" if interval >= 86400 else "hours" if interval >= 3600 else "minutes"
    return _start_of(ctx, unit if interval >= 60 else "seconds")


def _start_of(ctx: Context, unit: str) -> int:
    """The range's start cut to the start of its year, month, (ISO) week, day, hour,
    minute or second, in the request's zone."""
    moment = datetime.fromtimestamp(ctx.start, ctx.tz).replace(microsecond=0)
    fields = ("seconds", "minutes", "hours", "days", "months", "years")
    cut = {"weeks": 3}.get(unit, fields.index(unit) if unit in fields else 0)
    if cut >= 1:
        moment = moment.replace(second=0)
    if cut >= 2:
        moment = moment.replace(minute=0)
    if cut >= 3:
        moment = moment.replace(hour=0)
    if cut >= 4:
        moment = moment.replace(day=1)
    if cut >= 5:
        moment = moment.replace(month=1)
    if unit == "weeks":
        moment -= timedelta(days=moment.isoweekday() - 1)
    return int(moment.timestamp())


def periodic_interval(values: FloatArray) -> tuple[int, int] | None:
    """graphite-web's guess of a series written every few steps: the first two values
    after the first point (0 counts as none), the gap between them, and a third value
    that gap later with no values beside it. (first index, gap in steps), or None."""
    seen = [index for index, value in enumerate(values.tolist()) if value == value and value]
    seen = [index for index in seen if index > 0][:2]
    if len(seen) < 2:
        return None
    first, second = seen
    gap = second - first
    third = second + gap
    if gap <= 1 or third > len(values) - 2:
        return None
    before, value, after = values[third - 1 : third + 2].tolist()
    if value == value and value and before != before and after != after:
        return first, gap
    return None


async def compress_periodic_gaps(ctx: Context, series_list: SeriesList) -> SeriesList:
    """Series written every few steps brought to that interval (the last value of each),
    when graphite-web's guess finds one; others only renamed."""
    results = []
    for series in series_list:
        name = f"compressPeriodicGaps({series.name})"
        guess = periodic_interval(series.values)
        if guess is None:
            results.append(series.derive(name))
            continue
        first, gap = guess
        interval = gap * series.step
        start = series.start + first * series.step
        buckets = math.ceil((series.end - start) / interval)
        values = bucket_values(series, "last", interval, start, buckets)
        end = start + interval * (buckets - 1)
        results.append(series.derive(name, values, start=start, end=end, step=interval))
    return results


async def smart_summarize(
    ctx: Context, source: Lazy, interval_text: str, func: str, align_to: object
) -> SeriesList:
    """summarize with buckets from the start of the series, read from the start of the
    range's year, month, week, day, hour, minute or second when alignTo names one."""
    interval = parse_interval(interval_text)
    aggregator(func)
    start = _start_of(ctx, align_to) if isinstance(align_to, str) else ctx.start
    results = []
    for series in await source.over(start, ctx.end):
        buckets = math.ceil((series.end - series.start) / interval)
        ctx.budget.charge(buckets, f"smartSummarize into {interval_text!r} buckets")
        results.append(
            series.derive(
                f'smartSummarize({series.name}, "{interval_text}", "{func}")',
                bucket_values(series, func, interval, series.start, buckets),
                {"smartSummarize": interval_text, "smartSummarizeFunction": func},
                end=series.start + buckets * interval,
                step=interval,
            )
        )
    return results


async def hitcount(ctx: Context, source: Lazy, interval_text: str, align: bool) -> SeriesList:
    """Rates turned into hits per interval; buckets end with the series, or with
    alignToInterval start at the range's start cut to its day, hour or minute."""
    interval = parse_interval(interval_text)
    start = _truncated(ctx, interval) if align else ctx.start
    results = []
    for series in await source.over(start, ctx.end):
        end = series.end
        if align:
            end = series.start + (series.end - series.start) // interval * interval + interval
        buckets = math.ceil((end - series.start) / interval)
        ctx.budget.charge(buckets, f"hitcount into {interval_text!r} buckets")
        first = end - buckets * interval
        suffix = ", true" if align else ""
        results.append(
            series.derive(
                f'hitcount({series.name}, "{interval_text}"{suffix})',
                hit_values(series, first, interval, buckets),
                {"hitcount": interval_text},
                start=first,
                end=end,
                step=interval,
            )
        )
    return results


async def time_stack(
    ctx: Context, source: Lazy, unit: str, first_shift: int, last_shift: int
) -> SeriesList:
    """The series read over the range shifted back by each multiple of `unit` from
    `timeShiftStart` to before `timeShiftEnd`, all drawn over this range."""
    unit = f"-{unit}" if unit[:1].isdigit() else unit
    delta = parse_offset(unit)
    current = await source.over(ctx.start, ctx.end)
    if not current:
        return []
    anchor = current[0]
    results = []
    for shift in range(first_shift, last_shift):
        moved = delta * shift
        for series in await source.over(ctx.start + moved, ctx.end + moved):
            name = f"timeShift({series.name}, {unit}, {shift})"
            results.append(
                series.derive(
                    name,
                    tags={"timeShiftUnit": unit, "timeShift": shift},
                    start=anchor.start,
                    end=anchor.end,
                )
            )
    return results


FUNCTIONS += (
    Function(
        "smartSummarize",
        "Transform",
        "Points reduced per interval (sum by default) in buckets from the start of the "
        "series, read from the start of the range's year, month, week, day, hour, minute "
        "or second when alignTo names one.",
        (
            _SERIES,
            Param("intervalString", "interval", required=True, suggestions=("10min", "1h", "1d")),
            Param("func", "aggFunc", default="sum"),
            Param("alignTo", "string", options=_ALIGNMENTS),
        ),
        smart_summarize,
        lazy=True,
    ),
    Function(
        "compressPeriodicGaps",
        "Transform",
        "A series written every few steps, with gaps between, brought to that interval "
        "when the first values show it.",
        (_SERIES,),
        compress_periodic_gaps,
    ),
    Function(
        "hitcount",
        "Transform",
        "Rates (per second) turned into hits per interval, each point shared between the "
        "buckets it spans.",
        (
            _SERIES,
            Param("intervalString", "interval", required=True, suggestions=("10min", "1h", "1d")),
            Param("alignToInterval", "boolean", default=False),
        ),
        hitcount,
        lazy=True,
    ),
    Function(
        "timeStack",
        "Transform",
        "The series from several earlier ranges (each a multiple of the unit back) drawn "
        "over this one.",
        (
            _SERIES,
            Param(
                "timeShiftUnit",
                "interval",
                default="1d",
                suggestions=("1h", "6h", "12h", "1d", "2d", "7d", "14d", "30d"),
            ),
            Param("timeShiftStart", "integer", default=0),
            Param("timeShiftEnd", "integer", default=7),
        ),
        time_stack,
        lazy=True,
    ),
)
