"""Functions that change each series' values point by point, keeping its time range."""

from __future__ import annotations

import math

import numpy as np

from cyanite_py.api.functions.evaluate import Context
from cyanite_py.api.functions.registry import Function, Param
from cyanite_py.api.functions.series import RenderSeries, format_number
from cyanite_py.model import FloatArray

SeriesList = list[RenderSeries]


async def scale(ctx: Context, series_list: SeriesList, factor: float) -> SeriesList:
    return [
        s.derive(f"scale({s.name},{format_number(factor)})", s.values * factor, {"scale": factor})
        for s in series_list
    ]


async def offset(ctx: Context, series_list: SeriesList, factor: float) -> SeriesList:
    return [
        s.derive(f"offset({s.name},{format_number(factor)})", s.values + factor, {"offset": factor})
        for s in series_list
    ]


async def absolute(ctx: Context, series_list: SeriesList) -> SeriesList:
    return [s.derive(f"absolute({s.name})", np.abs(s.values), {"absolute": 1}) for s in series_list]


async def derivative(ctx: Context, series_list: SeriesList) -> SeriesList:
    """The change from the previous point; None where either point is None."""
    return [
        s.derive(f"derivative({s.name})", _deltas(s.values), {"derivative": 1}) for s in series_list
    ]


def _deltas(values: FloatArray) -> FloatArray:
    return np.concatenate(([np.nan], np.diff(values)))


def non_negative_deltas(
    values: FloatArray, max_value: float | None, min_value: float | None
) -> FloatArray:
    """graphite's counter deltas: a drop is a wrap past `max_value`, a reset to `min_value`,
    or None; values outside the bounds give None and are not used as the previous value."""
    outside = np.zeros(len(values), dtype=bool)
    if max_value is not None:
        outside |= values > max_value
    if min_value is not None:
        outside |= values < min_value
    usable = np.where(outside, np.nan, values)
    previous = np.concatenate(([np.nan], usable[:-1]))
    delta = usable - previous
    with np.errstate(invalid="ignore"):
        dropped = delta < 0
    if max_value is not None:
        wrapped = max_value + 1 + usable - previous - (min_value or 0)
    elif min_value is not None:
        wrapped = usable - min_value
    else:
        wrapped = np.full(len(values), np.nan)
    result: FloatArray = np.where(dropped, wrapped, delta)
    return result


async def non_negative_derivative(
    ctx: Context, series_list: SeriesList, max_value: float | None, min_value: float | None
) -> SeriesList:
    return [
        s.derive(
            f"nonNegativeDerivative({s.name})",
            non_negative_deltas(s.values, max_value, min_value),
            {"nonNegativeDerivative": 1},
        )
        for s in series_list
    ]


async def per_second(
    ctx: Context, series_list: SeriesList, max_value: float | None, min_value: float | None
) -> SeriesList:
    """Counter deltas per second of step, rounded to 6 decimals as graphite does."""
    return [
        s.derive(
            f"perSecond({s.name})",
            np.round(non_negative_deltas(s.values, max_value, min_value) / s.step, 6),
            {"perSecond": 1},
        )
        for s in series_list
    ]


async def integral(ctx: Context, series_list: SeriesList) -> SeriesList:
    """The running total; None points stay None and add nothing."""
    results = []
    for s in series_list:
        missing = np.isnan(s.values)
        totals = np.cumsum(np.where(missing, 0.0, s.values))
        values = np.where(missing, np.nan, totals)
        results.append(s.derive(f"integral({s.name})", values, {"integral": 1}))
    return results


async def transform_null(
    ctx: Context, series_list: SeriesList, default: float, reference: SeriesList | None
) -> SeriesList:
    """None replaced by `default`; with reference series, only where one of them has a value."""
    if reference:
        width = max(len(s.values) for s in reference)
        present = np.zeros(width, dtype=bool)
        for s in reference:
            present[: len(s.values)] |= ~np.isnan(s.values)
    results = []
    for s in series_list:
        fill = np.isnan(s.values)
        tags: dict[str, object] = {"transformNull": default}
        suffix = ""
        if reference:
            padded = np.zeros(len(s.values), dtype=bool)
            shared = min(len(padded), len(present))
            padded[:shared] = present[:shared]
            fill &= padded
            tags["referenceSeries"] = 1
            suffix = ",referenceSeries"
        name = f"transformNull({s.name},{format_number(default)}{suffix})"
        results.append(s.derive(name, np.where(fill, float(default), s.values), tags))
    return results


def keep_last(values: FloatArray, limit: float) -> FloatArray:
    """Runs of None after a value filled with that value when the run is at most `limit` long."""
    missing = np.isnan(values)
    if not missing.any():
        return values
    edges = np.diff(np.concatenate(([0], missing.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    lengths = np.flatnonzero(edges == -1) - starts
    fill_run = (starts > 0) & (lengths <= limit)
    positions = np.flatnonzero(missing)
    fill = positions[np.repeat(fill_run, lengths)]
    last_seen = np.maximum.accumulate(np.where(missing, -1, np.arange(len(values))))
    result = values.copy()
    result[fill] = values[last_seen[fill]]
    return result


async def keep_last_value(ctx: Context, series_list: SeriesList, limit: float) -> SeriesList:
    return [s.derive(f"keepLastValue({s.name})", keep_last(s.values, limit)) for s in series_list]


async def remove_below_value(ctx: Context, series_list: SeriesList, n: float) -> SeriesList:
    with np.errstate(invalid="ignore"):
        return [
            s.derive(
                f"removeBelowValue({s.name}, {format_number(n)})",
                np.where(s.values < n, np.nan, s.values),
            )
            for s in series_list
        ]


async def remove_above_value(ctx: Context, series_list: SeriesList, n: float) -> SeriesList:
    with np.errstate(invalid="ignore"):
        return [
            s.derive(
                f"removeAboveValue({s.name}, {format_number(n)})",
                np.where(s.values > n, np.nan, s.values),
            )
            for s in series_list
        ]


_SERIES = Param("seriesList", "seriesList", required=True)

FUNCTIONS = (
    Function(
        "scale",
        "Transform",
        "Each value multiplied by the factor.",
        (_SERIES, Param("factor", "float", required=True)),
        scale,
    ),
    Function(
        "offset",
        "Transform",
        "The constant added to each value.",
        (_SERIES, Param("factor", "float", required=True)),
        offset,
    ),
    Function("absolute", "Transform", "The absolute value of each point.", (_SERIES,), absolute),
    Function(
        "derivative",
        "Transform",
        "The difference between each point and the previous one.",
        (_SERIES,),
        derivative,
    ),
    Function(
        "nonNegativeDerivative",
        "Transform",
        "The difference from the previous point, for counters: a drop counts as a wrap "
        "past maxValue, a reset to minValue, or no data.",
        (_SERIES, Param("maxValue", "float"), Param("minValue", "float")),
        non_negative_derivative,
    ),
    Function(
        "perSecond",
        "Transform",
        "nonNegativeDerivative divided by the step in seconds: a counter's rate per second.",
        (_SERIES, Param("maxValue", "float"), Param("minValue", "float")),
        per_second,
    ),
    Function("integral", "Transform", "The running total of the series.", (_SERIES,), integral),
    Function(
        "transformNull",
        "Transform",
        "Missing points replaced by a default (0), optionally only where one of the "
        "reference series has a value.",
        (_SERIES, Param("default", "float", default=0), Param("referenceSeries", "seriesList")),
        transform_null,
    ),
    Function(
        "keepLastValue",
        "Transform",
        "Gaps of at most `limit` missing points continued with the last value seen.",
        (_SERIES, Param("limit", "intOrInf", default=math.inf)),
        keep_last_value,
    ),
    Function(
        "removeBelowValue",
        "Filter Data",
        "Points below the threshold removed.",
        (_SERIES, Param("n", "float", required=True)),
        remove_below_value,
    ),
    Function(
        "removeAboveValue",
        "Filter Data",
        "Points above the threshold removed.",
        (_SERIES, Param("n", "float", required=True)),
        remove_above_value,
    ),
)
