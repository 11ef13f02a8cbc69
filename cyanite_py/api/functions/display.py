"""How series are drawn and labelled: graph options, legends, names cut from paths.

graphite-web's JSON carries no drawing options, so `color`, `alpha` and `lineWidth`
hand the series back unchanged; those that rename (`dashed`, `secondYAxis`, …) rename
as graphite-web does, so dashboards moved from it show the same legends.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np

from cyanite_py.api.functions.evaluate import Context
from cyanite_py.api.functions.registry import Function, Impl, Param
from cyanite_py.api.functions.selection import figure
from cyanite_py.api.functions.series import AGGREGATORS, RenderSeries, format_number

SeriesList = list[RenderSeries]

_UNITS = {
    "si": (("P", 1000.0**5), ("T", 1000.0**4), ("G", 1000.0**3), ("M", 1000.0**2), ("k", 1000.0)),
    "binary": (
        ("Pi", 1024.0**5),
        ("Ti", 1024.0**4),
        ("Gi", 1024.0**3),
        ("Mi", 1024.0**2),
        ("Ki", 1024.0),
    ),
}


def format_units(value: float, system: str, units: str | None = None) -> tuple[float, str]:
    """The value in the largest prefix of `system` it reaches, as graphite's legends show it."""
    for prefix, size in _UNITS[system]:
        if abs(value) >= size:
            scaled = value / size
            if scaled - math.floor(scaled) < 1e-11 and value > 1:
                scaled = float(math.floor(scaled))
            return scaled, prefix + (units or "")
    if value - math.floor(value) < 1e-11 and value > 1:
        value = float(math.floor(value))
    return value, units or ""


async def unchanged(ctx: Context, series_list: SeriesList, *options: object) -> SeriesList:
    return series_list


def _renaming(name: str, tag: str) -> Function:
    async def impl(ctx: Context, series_list: SeriesList) -> SeriesList:
        return [
            s.derive(f"{name}({s.name})", tags={tag: 1}, path_expression=s.path_expression)
            for s in series_list
        ]

    return Function(
        name, "Graph", f"Each series drawn with {name}; renamed {name}(name).", (_SERIES,), impl
    )


async def dashed(ctx: Context, series_list: SeriesList, length: float) -> SeriesList:
    return [
        s.derive(
            f"dashed({s.name}, {format_number(length)})",
            tags={"dashed": length},
            path_expression=s.path_expression,
        )
        for s in series_list
    ]


async def stacked(ctx: Context, series_list: SeriesList, stack: str | None) -> SeriesList:
    """Each series drawn on top of the ones before it: values are running totals across
    the list, and across the request's targets that use the same stack; None stays None
    and adds nothing."""
    results = []
    key = "__DEFAULT__" if stack is None else stack
    total = ctx.stacks.get(key, np.zeros(0))
    for series in series_list:
        values = series.values
        if len(total) < len(values):
            total = np.concatenate((total, np.zeros(len(values) - len(total))))
        present = ~np.isnan(values)
        total[: len(values)] += np.where(present, values, 0.0)
        summed = np.where(present, total[: len(values)], np.nan)
        tags: dict[str, object] = {}
        if stack is None:
            name, tags = f"stacked({series.name})", {"stacked": "__DEFAULT__"}
        else:
            name, tags = series.name, {}
        results.append(series.derive(name, summed, tags))
    ctx.stacks[key] = total
    return results


def _cacti_format(system: str | None, units: str | None) -> Callable[[float], str]:
    def fmt(value: float) -> str:
        if system:
            scaled, prefix = format_units(value, system, units)
            return f"{scaled:.2f} {prefix}" if units else f"{scaled:.2f}{prefix}"
        return f"{value:.2f} {units}" if units else f"{value:.2f}"

    return fmt


async def cacti_style(
    ctx: Context, series_list: SeriesList, system: str | None, units: str | None
) -> SeriesList:
    """Names padded into columns with the last, highest and lowest values, as Cacti's legends."""
    if not series_list:
        return series_list
    fmt = _cacti_format(system, units)
    figures = [{f: figure(s, f) for f in ("last", "max", "min")} for s in series_list]
    name_width = max(len(s.name) for s in series_list)

    def width(func: str) -> int:
        return max(len(fmt(int(row[func] or 3))) for row in figures) + 3

    widths = {func: width(func) for func in ("last", "max", "min")}
    results = []
    for series, row in zip(series_list, figures, strict=True):
        shown = {f: "nan" if row[f] is None else fmt(float(row[f] or 0)) for f in row}
        name = (
            f"{series.name:<{name_width}} Current:{shown['last']:<{widths['last']}} "
            f"Max:{shown['max']:<{widths['max']}} Min:{shown['min']:<{widths['min']}} "
        )
        results.append(series.renamed(name))
    return results


async def legend_value(ctx: Context, series_list: SeriesList, *value_types: str) -> SeriesList:
    """Names followed by aggregates of the series, e.g. `x (avg: 3.0)`; a last argument
    of 'si' or 'binary' formats them in units, in columns."""
    system = None
    if value_types and value_types[-1] in ("si", "binary"):
        system, value_types = value_types[-1], value_types[:-1]
    names = {id(s): s.name for s in series_list}
    for value_type in value_types:
        for series in series_list:
            # as graphite-web, the offered `sumSeries` forms are not aggregations here
            value: object = figure(series, value_type) if value_type in AGGREGATORS else "(?)"
            if system is None:
                names[id(series)] += f" ({value_type}: {value})"
            else:
                shown = value
                if isinstance(value, float):
                    scaled, prefix = format_units(value, system)
                    shown = f"{scaled:.2f}{prefix}"
                names[id(series)] = f"{names[id(series)]:<20}{value_type:<5}{shown!s:<10}"
    return [series.renamed(names[id(series)]) for series in series_list]


async def substr(ctx: Context, series_list: SeriesList, start: int, stop: int) -> SeriesList:
    """Names cut to nodes `start` to `stop` of the innermost path in them."""
    results = []
    for series in series_list:
        name = series.name
        left = name.rfind("(") + 1
        right = name.find(")")
        clean = name[left : right if right >= 0 else len(name) + 1]
        nodes = clean.split(".")
        cut = ".".join(nodes[start:] if stop == 0 else nodes[start:stop])
        results.append(series.renamed(re.sub(",.*$", "", cut)))
    return results


async def alias_by_metric(ctx: Context, series_list: SeriesList) -> SeriesList:
    return await substr(ctx, series_list, -1, 0)


def _case(upper: bool) -> Impl:
    async def impl(ctx: Context, series_list: SeriesList, *positions: int) -> SeriesList:
        change = str.upper if upper else str.lower
        results = []
        for series in series_list:
            if not positions:
                results.append(series.renamed(change(series.name)))
                continue
            chars = list(series.name)
            for position in positions:
                if -len(chars) <= position < len(chars):
                    chars[position] = change(chars[position])
            results.append(series.renamed("".join(chars)))
        return results

    return impl


_SERIES = Param("seriesList", "seriesList", required=True)
_LEGEND_OPTIONS = (*AGGREGATORS, *(f"{name}Series" for name in AGGREGATORS), "si", "binary")

FUNCTIONS = (
    Function(
        "color",
        "Graph",
        "The colour to draw with (no effect on data).",
        (_SERIES, Param("theColor", "string", required=True)),
        unchanged,
    ),
    Function(
        "alpha",
        "Graph",
        "The opacity to draw with (no effect on data).",
        (_SERIES, Param("alpha", "float", required=True)),
        unchanged,
    ),
    Function(
        "lineWidth",
        "Graph",
        "The line width to draw with (no effect on data).",
        (_SERIES, Param("width", "float", required=True)),
        unchanged,
    ),
    Function(
        "dashed",
        "Graph",
        "Drawn dashed; renamed dashed(name, length).",
        (_SERIES, Param("dashLength", "integer", default=5)),
        dashed,
    ),
    Function(
        "stacked",
        "Graph",
        "Each series stacked on the ones before it: running totals across the list.",
        (_SERIES, Param("stack", "string")),
        stacked,
    ),
    _renaming("secondYAxis", "secondYAxis"),
    _renaming("drawAsInfinite", "drawAsInfinite"),
    Function(
        "cactiStyle",
        "Special",
        "Legends in columns with the current, highest and lowest values, in the units "
        "of the system given.",
        (_SERIES, Param("system", "string", options=("si", "binary")), Param("units", "string")),
        cacti_style,
    ),
    Function(
        "legendValue",
        "Alias",
        "Names followed by aggregates of the series (avg, total, min, max, last…), in "
        "units when 'si' or 'binary' comes last.",
        (_SERIES, Param("valuesTypes", "string", multiple=True, options=_LEGEND_OPTIONS)),
        legend_value,
    ),
    Function(
        "substr",
        "Special",
        "Names cut to the nodes from start to stop of the innermost path.",
        (_SERIES, Param("start", "node", default=0), Param("stop", "node", default=0)),
        substr,
    ),
    Function(
        "aliasByMetric",
        "Alias",
        "Each series named by the last node of its path.",
        (_SERIES,),
        alias_by_metric,
    ),
    Function(
        "upper",
        "Alias",
        "Names in upper case, or only the characters at the given positions.",
        (_SERIES, Param("pos", "integer", multiple=True)),
        _case(upper=True),
    ),
    Function(
        "lower",
        "Alias",
        "Names in lower case, or only the characters at the given positions.",
        (_SERIES, Param("pos", "integer", multiple=True)),
        _case(upper=False),
    ),
)
