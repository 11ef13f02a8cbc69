"""Choosing and ordering whole series by one figure of each: its last, average, maximum…"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

import numpy as np

from cyanite_py.api.functions.evaluate import Context
from cyanite_py.api.functions.registry import Function, Param
from cyanite_py.api.functions.series import InputError, RenderSeries, aggregator

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
        (Param("seriesLists", "seriesList", multiple=True),),
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
