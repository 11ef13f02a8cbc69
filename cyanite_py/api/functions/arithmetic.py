"""Per-point arithmetic and shifts that keep each series' range: rates, powers, delays."""

from __future__ import annotations

import numpy as np

from cyanite_py.api.attime import parse_time
from cyanite_py.api.functions.evaluate import Context
from cyanite_py.api.functions.registry import Function, Param
from cyanite_py.api.functions.series import InputError, RenderSeries, format_number
from cyanite_py.api.functions.wildcards import percentile_rows
from cyanite_py.model import FloatArray

SeriesList = list[RenderSeries]


def _power(values: FloatArray, exponent: float) -> FloatArray:
    """graphite's safePow: None where the power is undefined (a root of a negative, 1/0)."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        result: FloatArray = np.power(values, exponent)
    return np.where(np.isfinite(result), result, np.nan)


async def scale_to_seconds(ctx: Context, series_list: SeriesList, seconds: float) -> SeriesList:
    """Each value scaled from per step to per `seconds`, rounded to 6 decimals."""
    return [
        s.derive(
            f"scaleToSeconds({s.name},{int(seconds)})",
            np.round(s.values * (seconds / s.step), 6),
            {"scaleToSeconds": seconds},
        )
        for s in series_list
    ]


async def delay(ctx: Context, series_list: SeriesList, steps: int) -> SeriesList:
    """Values moved `steps` points later (earlier when negative), None where none came."""
    results = []
    for series in series_list:
        count = len(series.values)
        shift = min(abs(steps), count)
        values = np.full(count, np.nan)
        if steps >= 0:
            values[shift:] = series.values[: count - shift]
        else:
            values[: count - shift] = series.values[shift:]
        results.append(
            series.derive(
                f"delay({series.name},{steps})",
                values,
                {"delay": steps},
            )
        )
    return results


async def n_percentile(ctx: Context, series_list: SeriesList, n: float) -> SeriesList:
    """A line at the n-th percentile of each series' values; series without any left out."""
    if n <= 0:
        raise InputError("nPercentile: the requested percent must be greater than 0")
    results = []
    for series in series_list:
        if not np.any(~np.isnan(series.values)):
            continue
        value = float(percentile_rows(series.values[None, :], n, interpolate=False)[0])
        points = (series.end - series.start) // series.step
        results.append(
            series.derive(
                f"nPercentile({series.name}, {format_number(n)})",
                np.full(points, value),
                {"nPercentile": n},
            )
        )
    return results


async def time_slice(
    ctx: Context, series_list: SeriesList, start_at: object, end_at: object
) -> SeriesList:
    """Values outside `[startSliceAt, endSliceAt]` removed; times read as `from` and `until`."""
    try:
        first = parse_time(str(start_at), ctx.now, ctx.tz)
        last = parse_time(str(end_at), ctx.now, ctx.tz)
    except ValueError as error:
        raise InputError(f"timeSlice: {error}") from None
    results = []
    for series in series_list:
        times = series.start + np.arange(len(series.values)) * series.step
        outside = (times < first) | (times > last)
        results.append(
            series.derive(
                f"timeSlice({series.name}, {first}, {last})",
                np.where(outside, np.nan, series.values),
                {"timeSliceStart": first, "timeSliceEnd": last},
                path_expression=series.path_expression,
            )
        )
    return results


def _pointwise(name: str, description: str, exponent: float) -> Function:
    async def impl(ctx: Context, series_list: SeriesList) -> SeriesList:
        return [
            s.derive(f"{name}({s.name})", _power(s.values, exponent), {name: 1})
            for s in series_list
        ]

    return Function(name, "Transform", description, (_SERIES,), impl)


async def power(ctx: Context, series_list: SeriesList, factor: float) -> SeriesList:
    return [
        s.derive(
            f"pow({s.name},{format_number(factor)})", _power(s.values, factor), {"pow": factor}
        )
        for s in series_list
    ]


async def is_non_null(ctx: Context, series_list: SeriesList) -> SeriesList:
    return [
        s.derive(f"isNonNull({s.name})", (~np.isnan(s.values)).astype(np.float64), {"isNonNull": 1})
        for s in series_list
    ]


async def offset_to_zero(ctx: Context, series_list: SeriesList) -> SeriesList:
    """Each series moved so its lowest value is 0."""
    results = []
    for s in series_list:
        present = s.values[~np.isnan(s.values)]
        minimum = float(present.min()) if len(present) else None
        values = s.values - minimum if minimum is not None else s.values
        results.append(s.derive(f"offsetToZero({s.name})", values, {"offsetToZero": minimum}))
    return results


_SERIES = Param("seriesList", "seriesList", required=True)

FUNCTIONS = (
    Function(
        "scaleToSeconds",
        "Transform",
        "Values per step turned into values per the given number of seconds.",
        (_SERIES, Param("seconds", "float", required=True)),
        scale_to_seconds,
    ),
    Function(
        "delay",
        "Transform",
        "Values moved the given number of points later (earlier when negative).",
        (_SERIES, Param("steps", "integer", required=True)),
        delay,
    ),
    Function(
        "nPercentile",
        "Calculate",
        "A line at the n-th percentile of each series' values.",
        (_SERIES, Param("n", "float", required=True)),
        n_percentile,
    ),
    Function(
        "timeSlice",
        "Transform",
        "Only the values between two times (read as from and until are).",
        (
            _SERIES,
            Param("startSliceAt", "date", required=True),
            Param("endSliceAt", "date", default="now"),
        ),
        time_slice,
    ),
    _pointwise("squareRoot", "The square root of each value.", 0.5),
    _pointwise("invert", "1 divided by each value.", -1.0),
    Function(
        "pow",
        "Transform",
        "Each value raised to the given power.",
        (_SERIES, Param("factor", "float", required=True)),
        power,
    ),
    Function(
        "isNonNull",
        "Transform",
        "1 where a series has a value, 0 where it has none.",
        (_SERIES,),
        is_non_null,
    ),
    Function(
        "offsetToZero",
        "Transform",
        "Each series moved so that its lowest value is 0.",
        (_SERIES,),
        offset_to_zero,
    ),
)
