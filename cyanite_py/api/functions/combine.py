"""Functions that combine several series into fewer: sums, ratios, counts, groups."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cyanite_py.api.functions.evaluate import Context, spread
from cyanite_py.api.functions.naming import group_key
from cyanite_py.api.functions.registry import Function, Param
from cyanite_py.api.functions.series import (
    InputError,
    Normalized,
    RenderSeries,
    aggregator,
    common_tags,
    format_path_expressions,
    normalize,
    reduce_rows,
)
from cyanite_py.api.functions.special import constant_line
from cyanite_py.model import FloatArray

SeriesList = list[RenderSeries]


def aggregate(
    ctx: Context,
    series_list: Sequence[RenderSeries],
    func: str,
    x_files_factor: float | None = None,
) -> SeriesList:
    """graphite's aggregate(): one series reducing every point across the list, a point
    kept where `x_files_factor` (else the request's) of the series hold values."""
    if not series_list:
        return []
    short = func.removesuffix("Series")
    function = aggregator(short)
    normalized = normalize(series_list)
    factor = ctx.aggregation_factor() if x_files_factor is None else x_files_factor
    values = reduce_rows(normalized.matrix.T, function, factor)
    name = f"{short}Series({format_path_expressions(series_list)})"
    tags = common_tags(series_list)
    tags.setdefault("name", name)
    tags["aggregatedBy"] = short
    return [combined(ctx, name, normalized, values, tags, factor)]


def combined(
    ctx: Context,
    name: str,
    normalized: Normalized,
    values: FloatArray,
    tags: dict[str, str] | None = None,
    x_files_factor: float | None = None,
) -> RenderSeries:
    """A series made from normalized ones, named after the call that made it."""
    return RenderSeries(
        name=name,
        path_expression=name,
        start=normalized.start,
        end=normalized.end,
        step=normalized.step,
        values=values,
        tags=tags or {},
        x_files_factor=ctx.x_files_factor if x_files_factor is None else x_files_factor,
    )


def flatten(series_lists: Sequence[SeriesList]) -> SeriesList:
    return [series for series_list in series_lists for series in series_list]


def _aggregating(func: str, description: str) -> Function:
    async def impl(ctx: Context, *series_lists: SeriesList) -> SeriesList:
        return aggregate(ctx, flatten(series_lists), func)

    return Function(
        name=f"{func}Series",
        group="Combine",
        description=description,
        params=(Param("seriesLists", "seriesList", required=True, multiple=True),),
        impl=impl,
        aggregator=True,
    )


async def multiply_series(ctx: Context, *series_lists: SeriesList) -> SeriesList:
    if len(series_lists) == 1 and len(series_lists[0]) == 1:
        return series_lists[0]
    return aggregate(ctx, flatten(series_lists), "multiply")


async def count_series(ctx: Context, *series_lists: SeriesList) -> SeriesList:
    if not series_lists:
        (line,) = constant_line(ctx, 0)
        line.path_expression = "countSeries()"
        return [line]
    series_list = flatten(series_lists)
    if not series_list:
        return []
    normalized = normalize(series_list)
    name = f"countSeries({format_path_expressions(series_list)})"
    count = np.full(normalized.matrix.shape[1], float(len(series_list)))
    return [combined(ctx, name, normalized, count)]


def quotient(ctx: Context, name: str, pair: Sequence[RenderSeries], percent: bool) -> RenderSeries:
    """Point by point `pair[0] / pair[1]` (times 100 for percents); None where undefined."""
    normalized = normalize(pair)
    dividend, divisor = normalized.matrix
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(divisor == 0, np.nan, dividend / divisor)
    if percent:
        values = values * 100.0
    return combined(ctx, name, normalized, values)


async def divide_series(ctx: Context, dividends: SeriesList, divisors: SeriesList) -> SeriesList:
    if not divisors:
        name_of = "divideSeries({},MISSING)".format
        return [s.derive(name_of(s.name), np.full(len(s.values), np.nan)) for s in dividends]
    if len(divisors) > 1:
        raise InputError(
            f"divideSeries second argument must reference exactly 1 series (got {len(divisors)})"
        )
    (divisor,) = divisors
    return [
        quotient(ctx, f"divideSeries({s.name},{divisor.name})", (s, divisor), percent=False)
        for s in dividends
    ]


async def as_percent(
    ctx: Context, series_list: SeriesList, total: object, *nodes: int | str
) -> SeriesList:
    """Each series as a percentage of a total: a number, one series, a matching list, or the sum."""
    if not series_list:
        return []
    if nodes:
        return _percent_by_nodes(ctx, series_list, total, nodes)
    if isinstance(total, list):
        if len(total) == len(series_list) and len(total) != 1:
            pairs = zip(
                sorted(series_list, key=lambda s: s.name),
                sorted(total, key=lambda s: s.name),
                strict=True,
            )
            return [
                quotient(ctx, f"asPercent({a.name},{b.name})", (a, b), percent=True)
                for a, b in pairs
            ]
        if len(total) != 1:
            raise InputError(
                "asPercent second argument must be missing, a number, exactly one series "
                "or as many series as the first argument"
            )
        (single,) = total
        return [
            quotient(ctx, f"asPercent({s.name},{single.name})", (s, single), percent=True)
            for s in series_list
        ]
    if total is None:
        (summed,) = aggregate(ctx, series_list, "sum")
        text = summed.name
    elif isinstance(total, int | float) and not isinstance(total, bool):
        summed = series_list[0].derive(str(total), np.full(len(series_list[0].values), total))
        text = str(total)
    else:
        raise InputError(f"asPercent total must be a number or series, not {total!r}")
    return [
        quotient(ctx, f"asPercent({s.name},{text})", (s, summed), percent=True) for s in series_list
    ]


def _sum_of(ctx: Context, group: SeriesList) -> SeriesList:
    """A group's total for asPercent: the series itself when alone, else its sumSeries."""
    if len(group) == 1:
        return group
    (summed,) = aggregate(ctx, group, "sum")
    return [summed]


def _percent_by_nodes(
    ctx: Context, series_list: SeriesList, total: object, nodes: Sequence[int | str]
) -> SeriesList:
    groups = _group(series_list, nodes)
    if total is None:
        totals = {key: _sum_of(ctx, members)[0] for key, members in groups.items()}
    elif isinstance(total, list):
        totals = {key: _sum_of(ctx, members)[0] for key, members in _group(total, nodes).items()}
    else:
        raise InputError("asPercent total must be None or series when nodes are given")
    results: SeriesList = []
    for key in dict.fromkeys([*groups, *totals]):
        divisor = totals.get(key)
        for series in groups.get(key, []):
            if divisor is None:
                missing = np.full(len(series.values), np.nan)
                results.append(series.derive(f"asPercent({series.name},MISSING)", missing))
            else:
                name = f"asPercent({series.name},{divisor.name})"
                results.append(quotient(ctx, name, (series, divisor), percent=True))
        if key not in groups and divisor is not None:
            missing = np.full(len(divisor.values), np.nan)
            results.append(divisor.derive(f"asPercent(MISSING,{divisor.name})", missing))
    return results


def _group(series_list: SeriesList, nodes: Sequence[int | str]) -> dict[str, SeriesList]:
    groups: dict[str, SeriesList] = {}
    for series in series_list:
        groups.setdefault(group_key(series, nodes), []).append(series)
    return groups


async def group_by_nodes(
    ctx: Context, series_list: SeriesList, callback: str, *nodes: int | str
) -> SeriesList:
    """Series grouped by the given nodes, each group reduced by `callback` and named by its key."""
    results: SeriesList = []
    for key, members in _group(series_list, nodes).items():
        function = ctx.functions.get(callback)
        if function is not None and function.aggregator:
            combined = await function.impl(ctx, *spread(function, [members]))
        else:
            combined = aggregate(ctx, members, callback)
        if combined:
            results.append(combined[0].renamed(key))
    return results


async def group_by_node(
    ctx: Context, series_list: SeriesList, node: int | str, callback: str
) -> SeriesList:
    return await group_by_nodes(ctx, series_list, callback, node)


FUNCTIONS = (
    _aggregating("sum", "The sum of the series at each point."),
    _aggregating("average", "The average of the series at each point."),
    _aggregating("min", "The lowest value of the series at each point."),
    _aggregating("max", "The highest value of the series at each point."),
    _aggregating("diff", "The first series minus all the others at each point."),
    _aggregating("stddev", "The standard deviation of the series at each point."),
    _aggregating("rangeOf", "The highest minus the lowest value of the series at each point."),
    Function(
        "multiplySeries",
        "Combine",
        "The product of the series at each point.",
        (Param("seriesLists", "seriesList", required=True, multiple=True),),
        multiply_series,
        aggregator=True,
    ),
    Function(
        "countSeries",
        "Combine",
        "A line at the number of series given.",
        (Param("seriesLists", "seriesList", multiple=True),),
        count_series,
        aggregator=True,
    ),
    Function(
        "divideSeries",
        "Combine",
        "Each series divided point by point by one divisor series.",
        (
            Param("dividendSeriesList", "seriesList", required=True),
            Param("divisorSeries", "seriesList", required=True),
        ),
        divide_series,
    ),
    Function(
        "asPercent",
        "Combine",
        "Each series as a percentage of a total: a number, a series, matching series, or "
        "the sum of the series (per group of nodes when nodes are given).",
        (
            Param("seriesList", "seriesList", required=True),
            Param("total", "any"),
            Param("nodes", "nodeOrTag", multiple=True),
        ),
        as_percent,
        aggregator=True,
    ),
    Function(
        "groupByNode",
        "Combine",
        "Series grouped by one node (or tag), each group combined by the callback.",
        (
            Param("seriesList", "seriesList", required=True),
            Param("nodeNum", "nodeOrTag", required=True),
            Param("callback", "aggOrSeriesFunc", default="average"),
        ),
        group_by_node,
    ),
    Function(
        "groupByNodes",
        "Combine",
        "Series grouped by several nodes (or tags), each group combined by the callback.",
        (
            Param("seriesList", "seriesList", required=True),
            Param("callback", "aggOrSeriesFunc", required=True),
            Param("nodes", "nodeOrTag", multiple=True),
        ),
        group_by_nodes,
    ),
)
