"""Rendered series written out as graphite-web writes them: json, csv and raw.

For json, a series with more points than `maxDataPoints` is consolidated: runs of
`valuesPerPoint = ceil(points / maxDataPoints)` values are merged by the series'
consolidation function. Runs start on multiples of `step * valuesPerPoint` seconds
(values before the first such multiple are left out), so a dashboard refreshing every
few seconds gets the same buckets each time instead of jittering.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, tzinfo
from typing import Any

import orjson

from cyanite_py.api.functions.series import RenderSeries, consolidate
from cyanite_py.api.responses import json_values


def fit_points(data: Sequence[RenderSeries], max_points: int) -> list[RenderSeries]:
    """Each series consolidated to at most `max_points` points, on a stable grid."""
    if not data:
        return []
    if max_points == 1:
        return [_whole(series) for series in data]
    time_range = max(s.end for s in data) - min(s.start for s in data)
    return [_fit(series, time_range, max_points) for series in data]


def _whole(series: RenderSeries) -> RenderSeries:
    count = max(len(series.values), 1)
    return replace(
        series,
        end=series.start + series.step * count,
        values=consolidate(series, count),
        values_per_point=count,
    )


def _fit(series: RenderSeries, time_range: int, max_points: int) -> RenderSeries:
    points = time_range / series.step
    if max_points >= points:
        return series
    per_point = math.ceil(points / max_points)
    seconds = per_point * series.step
    first = -(-series.start // seconds) * seconds
    skipped = min((first - series.start) // series.step, len(series.values))
    trimmed = replace(series, values=series.values[skipped:])
    return replace(
        series, start=first, values=consolidate(trimmed, per_point), values_per_point=per_point
    )


def timestamps(series: RenderSeries) -> range:
    """The times of the points drawn, shortened to the values by the caller's zip."""
    return range(series.start, series.end + 1, series.step * series.values_per_point)


def to_json(data: Sequence[RenderSeries], max_points: int | None, no_null_points: bool) -> bytes:
    """`[{"target", "tags", "datapoints": [[value, time], ...]}, ...]`, NaN as null."""
    if max_points is not None:
        data = fit_points(data, max_points)
    output = []
    for series in data:
        pairs = zip(json_values(series.values), timestamps(series), strict=False)
        datapoints = [[value, time] for value, time in pairs]
        if no_null_points:
            datapoints = [point for point in datapoints if not _is_null(point[0])]
            if not datapoints:
                continue
        output.append({"target": series.name, "tags": series.tags, "datapoints": datapoints})
    return orjson.dumps(output)


def _is_null(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def to_csv(data: Sequence[RenderSeries], tz: tzinfo) -> str:
    """One `name,YYYY-MM-DD HH:MM:SS,value` row per point, times in the request's zone."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect="excel")
    for series in data:
        for index, value in enumerate(series.values.tolist()):
            moment = _local_time(series.start + index * series.step, tz)
            shown = "" if math.isnan(value) else value
            writer.writerow((series.name, moment, shown))
    return buffer.getvalue()


def _local_time(epoch: int, tz: tzinfo) -> str:
    """`YYYY-MM-DD HH:MM:SS` in `tz`, or the epoch itself where no calendar date exists."""
    try:
        return datetime.fromtimestamp(epoch, tz).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return str(epoch)


def to_raw(data: Sequence[RenderSeries]) -> str:
    """`name,start,end,step|v1,v2,...` per series, None for no data."""
    lines = []
    for series in data:
        values = ",".join("None" if math.isnan(v) else repr(v) for v in series.values.tolist())
        lines.append(f"{series.name},{series.start},{series.end},{series.step}|{values}\n")
    return "".join(lines)
