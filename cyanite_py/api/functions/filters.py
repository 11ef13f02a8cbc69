"""Functions that choose or order whole series: by value, by count, by name."""

from __future__ import annotations

import math
import re

from cyanite_py.api.functions.evaluate import Context
from cyanite_py.api.functions.regex import compile_regex
from cyanite_py.api.functions.registry import Function, Param
from cyanite_py.api.functions.series import RenderSeries, aggregator

SeriesList = list[RenderSeries]


def _ranked(series_list: SeriesList, func: str, descending: bool) -> SeriesList:
    """Series sorted by `func` over all their points; a series without data ranks lowest."""
    reduce = aggregator(func)

    def key(series: RenderSeries) -> float:
        value = float(reduce(series.values[None, :])[0]) if len(series.values) else math.nan
        return -math.inf if math.isnan(value) else value

    return sorted(series_list, key=key, reverse=descending)


async def highest_current(ctx: Context, series_list: SeriesList, n: int) -> SeriesList:
    return _ranked(series_list, "current", descending=True)[:n]


async def highest_max(ctx: Context, series_list: SeriesList, n: int) -> SeriesList:
    return _ranked(series_list, "max", descending=True)[:n]


async def lowest_current(ctx: Context, series_list: SeriesList, n: int) -> SeriesList:
    return _ranked(series_list, "current", descending=False)[:n]


async def limit(ctx: Context, series_list: SeriesList, n: int) -> SeriesList:
    return series_list[: max(n, 0)]


async def sort_by_name(
    ctx: Context, series_list: SeriesList, natural: bool, reverse: bool
) -> SeriesList:
    """Sorted by name; natural order compares runs of digits as numbers."""

    def natural_key(series: RenderSeries) -> str:
        return re.sub(r"\d+", lambda match: f"{int(match.group(0)):010}", series.name)

    key = natural_key if natural else (lambda series: series.name)
    return sorted(series_list, key=key, reverse=reverse)


async def exclude(ctx: Context, series_list: SeriesList, pattern: str) -> SeriesList:
    regex = compile_regex(pattern, "exclude")
    return [series for series in series_list if not regex.search(series.name)]


async def grep(ctx: Context, series_list: SeriesList, pattern: str) -> SeriesList:
    regex = compile_regex(pattern, "grep")
    return [series for series in series_list if regex.search(series.name)]


_SERIES = Param("seriesList", "seriesList", required=True)
_COUNT = Param("n", "integer", required=True)

FUNCTIONS = (
    Function(
        "highestCurrent",
        "Filter Series",
        "The n series with the highest last value.",
        (_SERIES, _COUNT),
        highest_current,
    ),
    Function(
        "highestMax",
        "Filter Series",
        "The n series with the highest maximum.",
        (_SERIES, _COUNT),
        highest_max,
    ),
    Function(
        "lowestCurrent",
        "Filter Series",
        "The n series with the lowest last value.",
        (_SERIES, _COUNT),
        lowest_current,
    ),
    Function("limit", "Filter Series", "The first n series.", (_SERIES, _COUNT), limit),
    Function(
        "sortByName",
        "Sorting",
        "Series sorted by name, alphabetically or naturally (server2 before server10).",
        (
            _SERIES,
            Param("natural", "boolean", default=False),
            Param("reverse", "boolean", default=False),
        ),
        sort_by_name,
    ),
    Function(
        "exclude",
        "Filter Series",
        "Series whose name matches the regular expression removed.",
        (_SERIES, Param("pattern", "string", required=True)),
        exclude,
    ),
    Function(
        "grep",
        "Filter Series",
        "Only the series whose name matches the regular expression.",
        (_SERIES, Param("pattern", "string", required=True)),
        grep,
    ),
)
