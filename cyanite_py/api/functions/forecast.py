"""Forecasts: Holt-Winters' seasonal smoothing and a least-squares line.

Holt-Winters reads the series again from `bootstrapInterval` before the range so the
smoothing has settled by the first point shown; each point depends on the one before, so
it runs as one pass over plain floats (a day at 10 s is 8,640 steps of a few operations).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cyanite_py.api.attime import parse_offset, parse_time
from cyanite_py.api.functions.evaluate import Context, Lazy
from cyanite_py.api.functions.registry import Function, Param
from cyanite_py.api.functions.series import InputError, RenderSeries
from cyanite_py.model import FloatArray

SeriesList = list[RenderSeries]

_ALPHA = _GAMMA = 0.1
_BETA = 0.0035


@dataclass(frozen=True, slots=True)
class Analysis:
    """One prediction and one seasonal deviation per point of the series analysed."""

    predictions: FloatArray
    deviations: FloatArray


def holt_winters(
    values: list[float], season: int, check: Callable[[], None] = lambda: None
) -> Analysis:
    """graphite-web's Holt-Winters (alpha = gamma = 0.1, beta = 0.0035): a None resets
    the level to the next value and predicts nothing for the point after it. `check`
    runs every 65,536 points, so a request past its deadline stops."""
    intercepts: list[float | None] = []
    slopes: list[float] = []
    seasonals: list[float] = []
    predictions: list[float | None] = []
    deviations: list[float] = []
    next_prediction: float | None = None
    for index, actual in enumerate(values):
        if not index & 0xFFFF:
            check()
        if actual != actual:  # NaN: no data
            intercepts.append(None)
            slopes.append(0.0)
            seasonals.append(0.0)
            predictions.append(next_prediction)
            deviations.append(0.0)
            next_prediction = None
            continue
        prediction: float | None
        if index == 0:
            last_intercept, last_slope, prediction = actual, 0.0, actual
        else:
            previous = intercepts[-1]
            last_intercept = actual if previous is None else previous
            last_slope = slopes[-1]
            prediction = next_prediction
        back = index - season
        last_seasonal = seasonals[back] if back >= 0 else 0.0
        next_seasonal = seasonals[back + 1] if 0 <= back + 1 < len(seasonals) else 0.0
        last_deviation = deviations[back] if back >= 0 else 0.0
        intercept = _ALPHA * (actual - last_seasonal) + (1 - _ALPHA) * (last_intercept + last_slope)
        slope = _BETA * (intercept - last_intercept) + (1 - _BETA) * last_slope
        seasonal = _GAMMA * (actual - intercept) + (1 - _GAMMA) * last_seasonal
        next_prediction = intercept + slope + next_seasonal
        deviation = _GAMMA * math.fabs(actual - (prediction or 0.0)) + (1 - _GAMMA) * last_deviation
        intercepts.append(intercept)
        slopes.append(slope)
        seasonals.append(seasonal)
        predictions.append(prediction)
        deviations.append(deviation)
    shown = [math.nan if value is None else value for value in predictions]
    return Analysis(np.array(shown, dtype=np.float64), np.array(deviations, dtype=np.float64))


async def _analysed(
    ctx: Context, source: Lazy, bootstrap: str, seasonality: str
) -> list[tuple[RenderSeries, Analysis, int]]:
    """Each series read from `bootstrap` before the range, its analysis, and how many
    points of it lie before the range."""
    preview = abs(parse_offset(bootstrap))
    season_seconds = abs(parse_offset(seasonality))
    results = []
    for series in await source.over(ctx.start - preview, ctx.end):
        season = max(season_seconds // series.step, 1)
        check = ctx.deadline.check if ctx.deadline is not None else (lambda: None)
        analysis = holt_winters(series.values.tolist(), season, check)
        results.append((series, analysis, preview // series.step))
    return results


def _later(series: RenderSeries, skipped: int) -> int:
    return series.start + skipped * series.step


async def holt_winters_forecast(
    ctx: Context, source: Lazy, bootstrap: str, seasonality: str
) -> SeriesList:
    return [
        series.derive(
            f"holtWintersForecast({series.name})",
            analysis.predictions[skipped:],
            {"holtWintersForecast": 1, "holtWintersDeviation": 1},
            start=_later(series, skipped),
        )
        for series, analysis, skipped in await _analysed(ctx, source, bootstrap, seasonality)
    ]


async def holt_winters_confidence_bands(
    ctx: Context, source: Lazy, delta: int, bootstrap: str, seasonality: str
) -> SeriesList:
    """The lower then the upper band: the forecast less and plus delta deviations."""
    results = []
    tags = {
        "holtWintersForecast": 1,
        "holtWintersDeviation": 1,
        "holtWintersConfidenceUpper": 1,
        "holtWintersConfidenceLower": 1,
    }
    for series, analysis, skipped in await _analysed(ctx, source, bootstrap, seasonality):
        forecast = analysis.predictions[skipped:]
        spread = delta * analysis.deviations[skipped:]
        for side, values in (("Lower", forecast - spread), ("Upper", forecast + spread)):
            results.append(
                series.derive(
                    f"holtWintersConfidence{side}({series.name})",
                    values,
                    tags,
                    path_expression=series.path_expression,
                    start=_later(series, skipped),
                )
            )
    return results


async def holt_winters_aberration(
    ctx: Context, source: Lazy, delta: int, bootstrap: str, seasonality: str
) -> SeriesList:
    """How far each point lies outside the confidence bands (0 inside or without data)."""
    bands = await holt_winters_confidence_bands(ctx, source, delta, bootstrap, seasonality)
    by_name = {band.name: band for band in bands}
    results = []
    for series in await source.over(ctx.start, ctx.end):
        values = series.values
        lower = _fitted(by_name.get(f"holtWintersConfidenceLower({series.name})"), len(values))
        upper = _fitted(by_name.get(f"holtWintersConfidenceUpper({series.name})"), len(values))
        with np.errstate(invalid="ignore"):
            above = np.where(values > upper, values - upper, 0.0)
            below = np.where(values < lower, values - lower, 0.0)
        aberration = np.where(np.isnan(values), 0.0, np.where(above != 0, above, below))
        results.append(
            series.derive(
                f"holtWintersAberration({series.name})",
                aberration,
                {"holtWintersAberration": 1},
            )
        )
    return results


def _fitted(band: RenderSeries | None, length: int) -> FloatArray:
    """A band's values cut or padded (with None) to `length`."""
    fitted = np.full(length, np.nan)
    if band is not None:
        shared = min(length, len(band.values))
        fitted[:shared] = band.values[:shared]
    return fitted


async def holt_winters_confidence_area(
    ctx: Context, source: Lazy, delta: int, bootstrap: str, seasonality: str
) -> SeriesList:
    """The two bands, both named holtWintersConfidenceArea(path) for a filled area."""
    bands = await holt_winters_confidence_bands(ctx, source, delta, bootstrap, seasonality)
    results: SeriesList = []
    for lower, upper in zip(bands[::2], bands[1::2], strict=True):
        name = f"holtWintersConfidenceArea({upper.path_expression})"
        tags = {**upper.tags, "holtWintersConfidenceArea": "1"}
        results.extend(band.derive(name, tags=tags) for band in (lower, upper))
    return results


def regression(series: RenderSeries) -> tuple[float, float] | None:
    """Least squares over the points with values: (change per second, value at time 0)."""
    present = ~np.isnan(series.values)
    index = np.flatnonzero(present).astype(np.float64)
    points = series.values[present]
    n = len(points)
    sum_i, sum_v = index.sum(), points.sum()
    sum_ii, sum_iv = (index * index).sum(), (index * points).sum()
    denominator = float(n * sum_ii - sum_i * sum_i)
    if denominator == 0:
        return None
    factor = (n * sum_iv - sum_i * sum_v) / denominator / series.step
    offset = (sum_ii * sum_v - sum_iv * sum_i) / denominator - factor * series.start
    return float(factor), float(offset)


async def linear_regression(
    ctx: Context, source: Lazy, start_at: object, end_at: object
) -> SeriesList:
    """The least-squares line of each series over another range (by default this one),
    drawn over this range; a series with fewer than two points gives none."""
    try:
        first = ctx.start if start_at is None else parse_time(str(start_at), ctx.now, ctx.tz)
        last = ctx.end if end_at is None else parse_time(str(end_at), ctx.now, ctx.tz)
    except ValueError as error:
        raise InputError(f"linearRegression: {error}") from None
    if first >= last:
        raise InputError("linearRegression: startSourceAt must come before endSourceAt")
    sources = await source.over(first, last)
    results = []
    for fitted, series in zip(sources, await source.over(ctx.start, ctx.end), strict=False):
        line = regression(fitted)
        if line is None:
            continue
        factor, offset = line
        times = series.start + np.arange(len(series.values)) * series.step
        line_values: FloatArray = (offset + times * factor).astype(np.float64)
        results.append(
            series.derive(
                f"linearRegression({series.name}, {first}, {last})",
                line_values,
                {"linearRegressions": f"{first}, {last}"},
            )
        )
    return results


_SERIES = Param("seriesList", "seriesList", required=True)
_BOOTSTRAP = Param("bootstrapInterval", "interval", default="7d", suggestions=("7d", "30d"))
_SEASONALITY = Param("seasonality", "interval", default="1d", suggestions=("1d", "7d"))
_BANDS = (_SERIES, Param("delta", "integer", default=3), _BOOTSTRAP, _SEASONALITY)

FUNCTIONS = (
    Function(
        "holtWintersForecast",
        "Calculate",
        "Holt-Winters' forecast of each series, learnt over bootstrapInterval before the "
        "range with a season of seasonality.",
        (_SERIES, _BOOTSTRAP, _SEASONALITY),
        holt_winters_forecast,
        lazy=True,
    ),
    Function(
        "holtWintersConfidenceBands",
        "Calculate",
        "The Holt-Winters forecast less and plus delta seasonal deviations: a lower and an "
        "upper band.",
        _BANDS,
        holt_winters_confidence_bands,
        lazy=True,
    ),
    Function(
        "holtWintersAberration",
        "Calculate",
        "How far each point lies above or below the Holt-Winters confidence bands.",
        _BANDS,
        holt_winters_aberration,
        lazy=True,
    ),
    Function(
        "holtWintersConfidenceArea",
        "Calculate",
        "The Holt-Winters confidence bands, drawn as the area between them.",
        _BANDS,
        holt_winters_confidence_area,
        lazy=True,
    ),
    Function(
        "linearRegression",
        "Calculate",
        "The least-squares line of each series, fitted over another range if given.",
        (_SERIES, Param("startSourceAt", "date"), Param("endSourceAt", "date")),
        linear_regression,
        lazy=True,
    ),
)
