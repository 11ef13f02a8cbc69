"""Combining by name: aggregate with a chosen function, across nodes, pairwise, by prefix."""

from __future__ import annotations

from dataclasses import replace
from typing import cast

import numpy as np

from cyanite_py.api.functions.combine import aggregate, combined, flatten, quotient
from cyanite_py.api.functions.evaluate import Context, evaluate, spread
from cyanite_py.api.functions.naming import group_key
from cyanite_py.api.functions.registry import Function, Impl, Param
from cyanite_py.api.functions.series import (
    InputError,
    RenderSeries,
    format_number,
    normalize,
)
from cyanite_py.api.target import parse
from cyanite_py.model import FloatArray

SeriesList = list[RenderSeries]


async def aggregate_function(
    ctx: Context, series_list: SeriesList, func: str, x_files_factor: float | None
) -> SeriesList:
    return aggregate(ctx, series_list, func, x_files_factor)


async def aggregate_with_wildcards(
    ctx: Context, series_list: SeriesList, func: str, *positions: int
) -> SeriesList:
    """Series grouped by their names less the given nodes, each group aggregated and
    named by what is left."""
    groups: dict[str, SeriesList] = {}
    for series in series_list:
        nodes = series.name.split(".")
        key = ".".join(node for index, node in enumerate(nodes) if index not in positions)
        groups.setdefault(key, []).append(series)
    return [aggregate(ctx, members, func)[0].renamed(key) for key, members in groups.items()]


def _with_wildcards(func: str) -> Function:
    async def impl(ctx: Context, series_list: SeriesList, *positions: int) -> SeriesList:
        return await aggregate_with_wildcards(ctx, series_list, func, *positions)

    return Function(
        f"{func}SeriesWithWildcards",
        "Combine",
        f"aggregateWithWildcards with {func}: series that differ only at the given nodes "
        "combined into one named without those nodes.",
        (_SERIES, Param("position", "node", multiple=True)),
        impl,
        aggregator=True,
    )


async def aggregate_series_lists(
    ctx: Context, first: SeriesList, second: SeriesList, func: str, x_files_factor: float | None
) -> SeriesList:
    """The n-th series of one list aggregated with the n-th of the other."""
    if len(first) != len(second):
        raise InputError(
            "seriesListFirstPos and seriesListSecondPos argument must have equal length"
        )
    results = []
    for one, two in zip(first, second, strict=True):
        (result,) = aggregate(ctx, (one, two), func, x_files_factor)
        prefix = result.name[: result.name.find("Series(")]
        results.append(result.renamed(f"{prefix}Series({one.name},{two.name})"))
    return results


def _series_lists(func: str) -> Function:
    async def impl(ctx: Context, first: SeriesList, second: SeriesList) -> SeriesList:
        return await aggregate_series_lists(ctx, first, second, func, None)

    return Function(
        f"{func}SeriesLists",
        "Combine",
        f"The {func} of each pair of series at the same place in two lists of equal length.",
        (
            Param("seriesListFirstPos", "seriesList", required=True),
            Param("seriesListSecondPos", "seriesList", required=True),
        ),
        impl,
        aggregator=True,
    )


async def divide_series_lists(
    ctx: Context, dividends: SeriesList, divisors: SeriesList
) -> SeriesList:
    """The n-th dividend divided by the n-th divisor; None where the divisor is 0 or None."""
    if len(dividends) != len(divisors):
        raise InputError("dividendSeriesList and divisorSeriesList argument must have equal length")
    return [
        quotient(ctx, f"divideSeries({a.name},{b.name})", (a, b), percent=False)
        for a, b in zip(dividends, divisors, strict=True)
    ]


def percentile_rows(matrix: FloatArray, n: float, interpolate: bool) -> FloatArray:
    """graphite's percentile of each row's values: rank n% of (count + 1), rounded up
    unless interpolating, then clipped to the values there are."""
    if not 0 <= n <= 100:
        raise InputError(f"the percentile asked for, {n:g}, is not between 0 and 100")
    ordered = np.sort(matrix, axis=1)  # NaN sorts last
    counts = np.count_nonzero(~np.isnan(matrix), axis=1)
    fractional = n / 100.0 * (counts + 1)
    rank = fractional.astype(np.int64)
    fraction = fractional - rank
    if not interpolate:
        rank = rank + np.ceil(fraction).astype(np.int64)
    index = np.clip(rank - 1, 0, np.maximum(counts - 1, 0))
    rows = np.arange(len(matrix))
    if matrix.shape[1] == 0:
        return np.full(len(matrix), np.nan)
    result = ordered[rows, index]
    if interpolate:
        following = np.minimum(rank, np.maximum(counts - 1, 0))
        has_next = (rank != counts) & (rank > 0) & (rank < counts)
        step = fraction * (ordered[rows, following] - result)
        result = np.where(has_next, result + step, result)
    chosen: FloatArray = np.where(counts > 0, result, np.nan)
    return chosen


async def percentile_of_series(
    ctx: Context, series_list: SeriesList, n: float, interpolate: bool
) -> SeriesList:
    """At each point, the n-th percentile of the values of all the series."""
    if n <= 0:
        raise InputError("percentileOfSeries: the requested percent must be greater than 0")
    if not series_list:
        return []
    normalized = normalize(series_list)
    name = f"percentileOfSeries({series_list[0].path_expression},{format_number(n)})"
    values = percentile_rows(normalized.matrix.T, n, interpolate)
    return [combined(ctx, name, normalized, values)]


async def group(ctx: Context, *series_lists: SeriesList) -> SeriesList:
    return flatten(series_lists)


async def apply_by_node(
    ctx: Context, series_list: SeriesList, node: int, template: str, new_name: str | None
) -> SeriesList:
    """For each distinct prefix up to `node`, the template with `%` replaced by the
    prefix, evaluated and named by `newName` with `%` replaced the same way."""
    prefixes = sorted({".".join(s.name.split(".")[: node + 1]) for s in series_list})
    results = []
    for prefix in prefixes:
        try:
            tree = parse(template.replace("%", prefix))
        except ValueError as error:
            raise InputError(
                f'applyByNode: invalid templateFunction "{template}": {error}'
            ) from None
        for series in await evaluate(tree, ctx):
            name = new_name.replace("%", prefix) if new_name else series.name
            results.append(replace(series, name=name, path_expression=prefix))
    return results


_SERIES = Param("seriesList", "seriesList", required=True)
_SERIES_LISTS = Param("seriesLists", "seriesList", required=True, multiple=True)


FUNCTIONS: tuple[Function, ...] = (
    Function(
        "aggregate",
        "Combine",
        "One series that aggregates all the series at each point with the given function; "
        "a point needs xFilesFactor of the series to hold values.",
        (_SERIES, Param("func", "aggFunc", required=True), Param("xFilesFactor", "float")),
        aggregate_function,
    ),
    Function(
        "aggregateWithWildcards",
        "Combine",
        "Series that differ only at the given nodes aggregated into one named without them.",
        (
            _SERIES,
            Param("func", "aggFunc", required=True),
            Param("position", "node", multiple=True),
        ),
        aggregate_with_wildcards,
    ),
    _with_wildcards("sum"),
    _with_wildcards("average"),
    _with_wildcards("multiply"),
    Function(
        "aggregateSeriesLists",
        "Combine",
        "Each pair of series at the same place in two lists aggregated with the function.",
        (
            Param("seriesListFirstPos", "seriesList", required=True),
            Param("seriesListSecondPos", "seriesList", required=True),
            Param("func", "aggFunc", required=True),
            Param("xFilesFactor", "float"),
        ),
        aggregate_series_lists,
    ),
    _series_lists("sum"),
    _series_lists("diff"),
    _series_lists("multiply"),
    Function(
        "divideSeriesLists",
        "Combine",
        "Each series of the first list divided by the series at the same place in the second.",
        (
            Param("dividendSeriesList", "seriesList", required=True),
            Param("divisorSeriesList", "seriesList", required=True),
        ),
        divide_series_lists,
    ),
    Function(
        "percentileOfSeries",
        "Combine",
        "At each point, the n-th percentile of the values of the series.",
        (
            _SERIES,
            Param("n", "float", required=True),
            Param("interpolate", "boolean", default=False),
        ),
        percentile_of_series,
    ),
    Function(
        "group",
        "Combine",
        "The series lists given, as one list.",
        (Param("seriesLists", "seriesList", multiple=True),),
        group,
    ),
    Function(
        "applyByNode",
        "Combine",
        "A template with % replaced by each distinct path prefix up to nodeNum, evaluated "
        "per prefix, named by newName with % replaced the same way.",
        (
            _SERIES,
            Param("nodeNum", "node", required=True),
            Param("templateFunction", "string", required=True),
            Param("newName", "string"),
        ),
        apply_by_node,
    ),
)


async def map_series(ctx: Context, series_list: SeriesList, *nodes: int | str) -> list[SeriesList]:
    """The series grouped by the given nodes (or tags), for reduceSeries."""
    groups: dict[str, SeriesList] = {}
    for series in series_list:
        groups.setdefault(group_key(series, nodes), []).append(series)
    return list(groups.values())


async def reduce_series(
    ctx: Context,
    series_lists: list[SeriesList],
    function_name: str,
    node: int,
    *matchers: str,
) -> SeriesList:
    """In each group, the series whose node `reduceNode` is one of the matchers handed in
    that order to the function, named `<prefix>.reduce.<function>`; a group lacking one
    of the matchers gives nothing."""
    function = ctx.functions.get(function_name)
    if function is None:
        raise InputError(f'unknown function "{function_name}" for parameter "reduceFunction"')
    slots: dict[str, list[RenderSeries | None]] = {}
    for series_list in series_lists:
        for series in series_list:
            nodes = series.name.split(".")
            if not -len(nodes) <= node < len(nodes) or nodes[node] not in matchers:
                continue
            key = ".".join(nodes[:node]) + ".reduce." + function_name
            slot = slots.setdefault(key, [None] * len(matchers))
            slot[matchers.index(nodes[node])] = series
    results = []
    for key, slot in slots.items():
        if any(series is None for series in slot):
            continue
        lists = [[series] for series in slot if series is not None]
        reduced = await function.impl(ctx, *spread(function, lists))
        if reduced:
            results.append(reduced[0].renamed(key))
    return results


async def weighted_average(
    ctx: Context, values: SeriesList, weights: SeriesList, *nodes: int | str
) -> SeriesList:
    """The average of the first list weighted by the second, series paired by the nodes."""
    if len(values) != len(weights):
        raise InputError(
            "weightedAverage must receive the same number of series for seriesListAvg and "
            f"seriesListWeight but received respectively {len(values)} and {len(weights)}"
        )
    pairs: dict[str, dict[str, RenderSeries]] = {}
    for value, weight in zip(values, weights, strict=True):
        pairs.setdefault(group_key(value, nodes), {})["value"] = value
        pairs.setdefault(group_key(weight, nodes), {})["weight"] = weight
    products = []
    for pair in pairs.values():
        if "value" in pair and "weight" in pair:
            name = f"product({pair['weight'].name},{pair['value'].name})"
            (product,) = aggregate(ctx, (pair["value"], pair["weight"]), "multiply")
            products.append(product.derive(name, tags={}))
    if not products:
        return []
    (total,) = aggregate(ctx, products, "sum")
    (weight_total,) = aggregate(ctx, weights, "sum")
    averages = ",".join(sorted({s.path_expression for s in values}))
    weighting = ",".join(sorted({s.path_expression for s in weights}))
    name = f"weightedAverage({averages}, {weighting}, {','.join(map(str, nodes))})"
    return [quotient(ctx, name, (total, weight_total), percent=False)]


FUNCTIONS += (
    Function(
        "mapSeries",
        "Combine",
        "The series grouped by the given nodes, for reduceSeries to combine in each group.",
        (_SERIES, Param("mapNodes", "nodeOrTag", required=True, multiple=True)),
        cast(Impl, map_series),
        lists=True,
    ),
    Function(
        "reduceSeries",
        "Combine",
        "In each group of mapSeries, the series whose node reduceNode is one of the "
        "matchers handed in that order to reduceFunction.",
        (
            Param("seriesLists", "seriesLists", required=True),
            Param("reduceFunction", "string", required=True),
            Param("reduceNode", "node", required=True),
            Param("reduceMatchers", "string", required=True, multiple=True),
        ),
        reduce_series,
    ),
    Function(
        "weightedAverage",
        "Combine",
        "The average of the first series list weighted by the second, paired by the nodes.",
        (
            Param("seriesListAvg", "seriesList", required=True),
            Param("seriesListWeight", "seriesList", required=True),
            Param("nodes", "nodeOrTag", multiple=True),
        ),
        weighted_average,
    ),
)
