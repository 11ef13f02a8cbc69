"""Choosing and ordering whole series by one figure of each: its last, average, maximum…"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

import numpy as np

from cyanite_py.api.functions.evaluate import Context, evaluate
from cyanite_py.api.functions.regex import compile_regex
from cyanite_py.api.functions.registry import Function, Param
from cyanite_py.api.functions.series import InputError, RenderSeries, aggregator, normalize
from cyanite_py.api.functions.wildcards import percentile_rows
from cyanite_py.api.target import parse

SeriesList = list[RenderSeries]


def figure(series: RenderSeries, func: str) -> float | None:
    """`func` over all of a series' points; None when it holds no value."""
    if not len(series.values):
        return None
    value = float(aggregator(func)(series.values[None, :])[0])
    return None if math.isnan(value) else value


def _none_passes(compare: Callable[[float, float], bool]) -> Callable[[float | None, float], bool]:
    return lambda value, threshold: value is None or compare(value, threshold)


def _none_fails(compare: Callable[[float, float], bool]) -> Callable[[float | None, float], bool]:
    return lambda value, threshold: value is not None and compare(value, threshold)


_OPERATORS: dict[str, Callable[[float | None, float], bool]] = {
    "=": _none_fails(operator.eq),
    "!=": _none_passes(operator.ne),
    ">": _none_fails(operator.gt),
    ">=": _none_fails(operator.ge),
    "<": _none_passes(operator.lt),
    "<=": _none_passes(operator.le),
}
"""graphite-web's comparisons: a series without data is below any threshold."""


async def filter_series(
    ctx: Context, series_list: SeriesList, func: str, op: str, threshold: float
) -> SeriesList:
    compare = _OPERATORS.get(op)
    if compare is None:
        raise InputError(f"filterSeries: unsupported operator {op!r}")
    aggregator(func)
    return [s for s in series_list if compare(figure(s, func), threshold)]


def _filtering(name: str, func: str, op: str, description: str) -> Function:
    async def impl(ctx: Context, series_list: SeriesList, n: float) -> SeriesList:
        return await filter_series(ctx, series_list, func, op, n)

    return Function(name, "Filter Series", description, (_SERIES, _THRESHOLD), impl)


def _key(func: str) -> Callable[[RenderSeries], float]:
    def key(series: RenderSeries) -> float:
        value = figure(series, func)
        return -math.inf if value is None else value

    return key


async def sort_by(ctx: Context, series_list: SeriesList, func: str, reverse: bool) -> SeriesList:
    return sorted(series_list, key=_key(func), reverse=reverse)


async def sort_by_total(ctx: Context, series_list: SeriesList) -> SeriesList:
    return sorted(series_list, key=_key("sum"), reverse=True)


async def sort_by_maxima(ctx: Context, series_list: SeriesList) -> SeriesList:
    return sorted(series_list, key=_key("max"), reverse=True)


async def sort_by_minima(ctx: Context, series_list: SeriesList) -> SeriesList:
    """Series whose maximum is above 0, lowest minimum first."""
    kept = [s for s in series_list if (figure(s, "max") or 0) > 0]
    return sorted(kept, key=_key("min"))


async def highest(ctx: Context, series_list: SeriesList, n: int, func: str) -> SeriesList:
    return sorted(series_list, key=_key(func), reverse=True)[: max(n, 0)]


async def lowest(ctx: Context, series_list: SeriesList, n: int, func: str) -> SeriesList:
    return sorted(series_list, key=_key(func))[: max(n, 0)]


async def highest_average(ctx: Context, series_list: SeriesList, n: int) -> SeriesList:
    return await highest(ctx, series_list, n, "average")


async def lowest_average(ctx: Context, series_list: SeriesList, n: int) -> SeriesList:
    return await lowest(ctx, series_list, n, "average")


async def remove_empty_series(
    ctx: Context, series_list: SeriesList, x_files_factor: float | None
) -> SeriesList:
    """Series holding at least one value, or `xFilesFactor` of their points."""
    factor = x_files_factor or 0.0
    kept = []
    for series in series_list:
        present = int(np.count_nonzero(~np.isnan(series.values)))
        if present and present / len(series.values) >= factor:
            kept.append(series)
    return kept


async def unique(ctx: Context, *series_lists: SeriesList) -> SeriesList:
    """The series, each name once, first one kept."""
    seen: dict[str, RenderSeries] = {}
    for series_list in series_lists:
        for series in series_list:
            seen.setdefault(series.name, series)
    return list(seen.values())


async def most_deviant(ctx: Context, series_list: SeriesList, n: int) -> SeriesList:
    """The n series whose values vary most: the largest sum of squared differences from
    their mean, divided by their count of values."""
    ranked = []
    for series in series_list:
        present = series.values[~np.isnan(series.values)]
        if not len(present):
            continue
        ranked.append((float(((present - present.mean()) ** 2).sum() / len(present)), series))
    ranked.sort(key=lambda pair: pair[0], reverse=True)
    return [series for _, series in ranked[: max(n, 0)]]


def _bounds(values: list[float], n: float) -> tuple[float, float]:
    """The (100 - n)-th and n-th percentiles of `values`, n taken above 50."""
    n = 100 - n if n < 50 else n
    row = np.array([values], dtype=np.float64)
    return (
        float(percentile_rows(row, 100 - n, interpolate=False)[0]),
        float(percentile_rows(row, n, interpolate=False)[0]),
    )


async def average_outside_percentile(ctx: Context, series_list: SeriesList, n: float) -> SeriesList:
    """Series whose average is not strictly between the (100 - n)-th and n-th
    percentiles of the averages."""
    averages = [figure(series, "average") for series in series_list]
    known = [value for value in averages if value is not None]
    if not known:
        return []
    low, high = _bounds(known, n)
    return [
        series
        for series, value in zip(series_list, averages, strict=True)
        if value is not None and not low < value < high
    ]


async def remove_between_percentile(ctx: Context, series_list: SeriesList, n: float) -> SeriesList:
    """Series with at least one point outside the (100 - n)-th to n-th percentiles of
    all the series at that point."""
    if not series_list:
        return []
    normalized = normalize(series_list)
    n = 100 - n if n < 50 else n
    columns = normalized.matrix.T
    low = percentile_rows(columns, 100 - n, interpolate=False)
    high = percentile_rows(columns, n, interpolate=False)
    with np.errstate(invalid="ignore"):
        inside = (low < normalized.matrix) & (normalized.matrix < high)
    return [series for series, row in zip(series_list, inside, strict=True) if not row.all()]


async def fallback_series(
    ctx: Context, series_list: SeriesList, fallback: SeriesList
) -> SeriesList:
    return series_list or fallback


async def use_series_above(
    ctx: Context, series_list: SeriesList, value: float, search: str, replace: str
) -> SeriesList:
    """The series named by rewriting (search, replace) the name of each series whose
    maximum is above the value, fetched in its place."""
    pattern = compile_regex(search, "useSeriesAbove")
    names = [
        pattern.sub(replace, s.name) for s in series_list if (figure(s, "max") or -math.inf) > value
    ]
    results: SeriesList = []
    for name in names:
        try:
            tree = parse(name)
        except ValueError as error:
            raise InputError(f"useSeriesAbove: {name!r} is not a target: {error}") from None
        results.extend(await evaluate(tree, ctx))
    return results


_SERIES = Param("seriesList", "seriesList", required=True)
_THRESHOLD = Param("n", "float", required=True)
_COUNT = Param("n", "integer", required=True)
_BY = "Series whose {} is {} n."

FUNCTIONS = (
    Function(
        "filterSeries",
        "Filter Series",
        "Series whose aggregate over the range compares to the threshold with the operator.",
        (
            _SERIES,
            Param("func", "aggFunc", required=True),
            Param("operator", "string", required=True, options=tuple(_OPERATORS)),
            Param("threshold", "float", required=True),
        ),
        filter_series,
    ),
    _filtering("currentAbove", "last", ">", _BY.format("last value", "above")),
    _filtering("currentBelow", "last", "<=", _BY.format("last value", "at most")),
    _filtering("averageAbove", "average", ">", _BY.format("average", "above")),
    _filtering("averageBelow", "average", "<=", _BY.format("average", "at most")),
    _filtering("maximumAbove", "max", ">", _BY.format("maximum", "above")),
    _filtering("maximumBelow", "max", "<=", _BY.format("maximum", "at most")),
    _filtering("minimumAbove", "min", ">", _BY.format("minimum", "above")),
    _filtering("minimumBelow", "min", "<=", _BY.format("minimum", "at most")),
    Function(
        "highest",
        "Filter Series",
        "The n series with the highest aggregate (average by default).",
        (_SERIES, _COUNT, Param("func", "aggFunc", default="average")),
        highest,
    ),
    Function(
        "lowest",
        "Filter Series",
        "The n series with the lowest aggregate (average by default).",
        (_SERIES, _COUNT, Param("func", "aggFunc", default="average")),
        lowest,
    ),
    Function(
        "highestAverage",
        "Filter Series",
        "The n series with the highest average.",
        (_SERIES, _COUNT),
        highest_average,
    ),
    Function(
        "lowestAverage",
        "Filter Series",
        "The n series with the lowest average.",
        (_SERIES, _COUNT),
        lowest_average,
    ),
    Function(
        "mostDeviant",
        "Filter Series",
        "The n series whose values deviate most from their mean.",
        (_SERIES, _COUNT),
        most_deviant,
    ),
    Function(
        "averageOutsidePercentile",
        "Filter Series",
        "Series whose average lies outside the (100 - n)-th to n-th percentiles of the averages.",
        (_SERIES, _THRESHOLD),
        average_outside_percentile,
    ),
    Function(
        "removeBetweenPercentile",
        "Filter Series",
        "Series removed unless a point lies outside the (100 - n)-th to n-th percentiles "
        "of the series at that point.",
        (_SERIES, _THRESHOLD),
        remove_between_percentile,
    ),
    Function(
        "fallbackSeries",
        "Special",
        "The series, or the fallback series when there are none.",
        (_SERIES, Param("fallback", "seriesList", required=True)),
        fallback_series,
    ),
    Function(
        "useSeriesAbove",
        "Filter Series",
        "For each series whose maximum is above the value, the series named by a regular "
        "expression replacement of its name.",
        (
            _SERIES,
            Param("value", "float", required=True),
            Param("search", "string", required=True),
            Param("replace", "string", required=True),
        ),
        use_series_above,
    ),
    Function(
        "removeEmptySeries",
        "Filter Series",
        "Series without any value removed, or with fewer than xFilesFactor of their points.",
        (_SERIES, Param("xFilesFactor", "float")),
        remove_empty_series,
    ),
    Function(
        "unique",
        "Filter Series",
        "Each name once.",
        (Param("seriesLists", "seriesList", required=True, multiple=True),),
        unique,
    ),
    Function(
        "sortBy",
        "Sorting",
        "Series sorted by an aggregate of their points, lowest first unless reverse.",
        (
            _SERIES,
            Param("func", "aggFunc", default="average"),
            Param("reverse", "boolean", default=False),
        ),
        sort_by,
    ),
    Function(
        "sortByTotal",
        "Sorting",
        "Series sorted by their sum, highest first.",
        (_SERIES,),
        sort_by_total,
    ),
    Function(
        "sortByMaxima",
        "Sorting",
        "Series sorted by their maximum, highest first.",
        (_SERIES,),
        sort_by_maxima,
    ),
    Function(
        "sortByMinima",
        "Sorting",
        "Series whose maximum is above 0, sorted by their minimum, lowest first.",
        (_SERIES,),
        sort_by_minima,
    ),
)
