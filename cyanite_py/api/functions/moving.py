"""Moving windows: each point from the n points (or the time) ending at it.

graphite-web reads the series again from `windowSize` before the range, so the first
point of the range has a whole window; the window of a point ends at that point, so
`movingAverage(x, 1)` is `x`.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cyanite_py.api.attime import parse_offset
from cyanite_py.api.functions.evaluate import Context, Lazy
from cyanite_py.api.functions.registry import Function, Param
from cyanite_py.api.functions.series import InputError, RenderSeries, aggregator, nan_array
from cyanite_py.api.limits import LimitExceeded
from cyanite_py.model import FloatArray

SeriesList = list[RenderSeries]

_RUNNING = frozenset(("average", "avg", "sum", "total", "count"))
"""Aggregations computed from running totals, whatever the window's length."""


def window_values(
    ctx: Context, values: FloatArray, points: int, func: str, x_files_factor: float
) -> FloatArray:
    """For each point from `points` on, `func` over the `points` points ending at it,
    None where fewer than `x_files_factor` of them hold values."""
    outputs = len(values) - points
    if points <= 0 or outputs <= 0:
        return nan_array(max(outputs, 0))
    missing = np.isnan(values)
    counts = np.concatenate(([0], np.cumsum(~missing)))
    present = counts[points + 1 :] - counts[1 : outputs + 1]
    if func in _RUNNING:
        sums = np.concatenate(([0.0], np.cumsum(np.where(missing, 0.0, values))))
        totals = sums[points + 1 :] - sums[1 : outputs + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            reduced = {"count": present.astype(np.float64), "sum": totals, "total": totals}.get(
                func, totals / present
            )
    else:
        ctx.budget.charge(outputs * points, f"a moving window of {points} points")
        matrix = sliding_window_view(values[1:], points)
        reduced = np.nanprod(matrix, axis=1) if func == "multiply" else aggregator(func)(matrix)
    keep = (present > 0) & (present / points >= x_files_factor)
    result: FloatArray = np.where(keep, reduced, np.nan)
    return result


async def moving_window(
    ctx: Context,
    source: Lazy,
    window: int | str,
    func: str,
    x_files_factor: float | None,
    function: str = "movingWindow",
) -> SeriesList:
    """`func` over the window ending at each point, named `moving<Func>(name,window)`."""
    func = func.removesuffix("Series")
    aggregator(func)
    if isinstance(window, str):
        preview = abs(parse_offset(window))
        label = f'"{window}"'
    else:
        _check_window(ctx, window, function)
        current = await source.over(ctx.start, ctx.end)
        if not current:
            return []
        preview = max(series.step for series in current) * window
        label = str(window)
    tag = "moving" + func.capitalize()
    results = []
    for series in await source.over(ctx.start - preview, ctx.end):
        points = preview // series.step if isinstance(window, str) else window
        _check_window(ctx, points, function)
        factor = series.x_files_factor if x_files_factor is None else x_files_factor
        results.append(
            series.derive(
                f"{tag}({series.name},{label})",
                window_values(ctx, series.values, points, func, factor),
                {tag: window},
                start=series.start + preview,
            )
        )
    return results


def _check_window(ctx: Context, points: int, function: str) -> None:
    """Refuse a window of no points, or of more than a whole request may lay out."""
    if points < 0 or (points == 0 and function == "exponentialMovingAverage"):
        raise InputError(f'parameter "windowSize" of function "{function}" must be above 0')
    if points > ctx.budget.limit:
        raise LimitExceeded(
            f"moving window of {points} points is over api.max_points ({ctx.budget.limit})"
        )


def _moving(func: str, description: str) -> Function:
    async def impl(
        ctx: Context, source: Lazy, window: int | str, x_files_factor: float | None
    ) -> SeriesList:
        name = "moving" + func.capitalize()
        return await moving_window(ctx, source, window, func, x_files_factor, name)

    return Function(
        "moving" + func.capitalize(),
        "Calculate",
        description,
        (_SERIES, _WINDOW, Param("xFilesFactor", "float")),
        impl,
        lazy=True,
    )


def ema_values(values: FloatArray, points: int, constant: float) -> FloatArray:
    """graphite's exponential moving average from the first window's mean (0 if empty):
    `c * v + (1 - c) * ema` at each value after it, None where the value is None,
    rounded to 6 decimals. Each value is labelled with the last point it includes."""
    first = values[:points]
    present = first[~np.isnan(first)]
    ema = float(present.mean()) if len(present) else 0.0
    result = []
    for value in values[points:].tolist():
        if value != value:  # NaN: no data
            result.append(np.nan)
            continue
        ema = constant * value + (1 - constant) * ema
        result.append(round(ema, 6))
    return np.array(result, dtype=np.float64)


async def exponential_moving_average(ctx: Context, source: Lazy, window: int | str) -> SeriesList:
    function = "exponentialMovingAverage"
    if isinstance(window, str):
        preview = abs(parse_offset(window))
        constant = 2 / (preview + 1)
        label = f'"{window}"'
    else:
        _check_window(ctx, window, function)
        current = await source.over(ctx.start, ctx.end)
        if not current:
            return []
        preview = max(series.step for series in current) * window
        constant = 2 / (window + 1)
        label = str(window)
    results = []
    for series in await source.over(ctx.start - preview, ctx.end):
        points = preview // series.step if isinstance(window, str) else window
        _check_window(ctx, points, function)
        results.append(
            series.derive(
                f"exponentialMovingAverage({series.name},{label})",
                ema_values(series.values, points, constant),
                {"exponentialMovingAverage": window},
                start=series.start + preview,
            )
        )
    return results


_SERIES = Param("seriesList", "seriesList", required=True)
_WINDOW = Param(
    "windowSize",
    "intOrInterval",
    required=True,
    suggestions=(5, 7, 10, "1min", "5min", "10min", "30min", "1hour"),
)

FUNCTIONS = (
    Function(
        "movingWindow",
        "Calculate",
        "An aggregation (average by default) of the window of points, or of time, ending "
        "at each point; xFilesFactor says how much of a window must hold values.",
        (
            _SERIES,
            _WINDOW,
            Param("func", "aggFunc", default="average"),
            Param("xFilesFactor", "float"),
        ),
        moving_window,
        lazy=True,
    ),
    _moving("average", "The average of the window of points, or of time, ending at each point."),
    _moving("sum", "The sum of the window of points, or of time, ending at each point."),
    _moving("min", "The lowest value of the window of points, or of time, ending at each point."),
    _moving("max", "The highest value of the window of points, or of time, ending at each point."),
    _moving("median", "The median of the window of points, or of time, ending at each point."),
    Function(
        "exponentialMovingAverage",
        "Calculate",
        "An exponential moving average with constant 2 / (windowSize + 1), starting from "
        "the average of the first window.",
        (_SERIES, _WINDOW),
        exponential_moving_average,
        lazy=True,
    ),
)
