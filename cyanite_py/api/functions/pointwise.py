"""More per-point functions: logarithms and curves, rounding, changes, gap filling,
running deviations and settings carried by the series."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cyanite_py.api.attime import parse_offset
from cyanite_py.api.functions.combine import combined
from cyanite_py.api.functions.evaluate import Context
from cyanite_py.api.functions.registry import Function, Impl, Param
from cyanite_py.api.functions.series import InputError, RenderSeries, format_number, normalize
from cyanite_py.api.functions.special import consolidate_by
from cyanite_py.api.functions.wildcards import percentile_rows
from cyanite_py.model import FloatArray

SeriesList = list[RenderSeries]


def _each(
    name: str,
    description: str,
    compute: Callable[[FloatArray], FloatArray],
    tag: object,
    group: str = "Transform",
) -> Function:
    """A function applying `compute` to each series' values, renamed `name(series)` and
    tagged `name=tag` (untagged when `tag` is None)."""
    tags = {} if tag is None else {name: tag}

    async def impl(ctx: Context, series_list: SeriesList) -> SeriesList:
        with np.errstate(all="ignore"):
            return [s.derive(f"{name}({s.name})", compute(s.values), tags) for s in series_list]

    return Function(name, group, description, (_SERIES,), impl)


def _finite(values: FloatArray) -> FloatArray:
    """None where a value is not a finite number (a log of 0, 1/0)."""
    return np.where(np.isfinite(values), values, np.nan)


async def add(ctx: Context, series_list: SeriesList, constant: float) -> SeriesList:
    return [
        s.derive(f"add({s.name},{int(constant)})", s.values + constant, {"add": constant})
        for s in series_list
    ]


async def logarithm(ctx: Context, series_list: SeriesList, base: int) -> SeriesList:
    """The logarithm in `base` of each value above 0; None for the others."""
    if base <= 0 or base == 1:
        raise InputError(f'invalid base {base} for parameter "base" of function "log"')
    results = []
    for s in series_list:
        with np.errstate(all="ignore"):
            values = np.where(s.values > 0, np.log(s.values) / np.log(base), np.nan)
        results.append(s.derive(f"log({s.name}, {base})", values, {"log": base}))
    return results


async def round_values(ctx: Context, series_list: SeriesList, precision: int | None) -> SeriesList:
    """Values rounded to `precision` decimals as Python rounds them (the nearest binary
    fraction, half to even), named `round(x)` unless a precision was given."""
    suffix = "" if precision is None else f",{precision}"
    digits = precision or 0
    results = []
    for s in series_list:
        rounded = np.array([round(v, digits) for v in s.values.tolist()], dtype=np.float64)
        results.append(s.derive(f"round({s.name}{suffix})", rounded, {"round": digits}))
    return results


async def min_max(ctx: Context, series_list: SeriesList) -> SeriesList:
    """Each series scaled to 0..1 between its lowest and highest value (0 when flat)."""
    results = []
    for s in series_list:
        present = s.values[~np.isnan(s.values)]
        low, high = (float(present.min()), float(present.max())) if len(present) else (0.0, 0.0)
        values = (
            (s.values - low) / (high - low)
            if high != low
            else np.where(np.isnan(s.values), np.nan, 0.0)
        )
        results.append(s.derive(f"minMax({s.name})", values))
    return results


def changes(values: FloatArray) -> FloatArray:
    """1 where a value differs from the last value seen before it, else 0 (0 up to the first)."""
    present = ~np.isnan(values)
    seen = np.where(present, np.arange(len(values)), -1)
    last = np.maximum.accumulate(seen)
    previous_index = np.concatenate(([-1], last[:-1]))
    previous = np.where(previous_index >= 0, values[np.maximum(previous_index, 0)], np.nan)
    changed = present & (previous_index >= 0) & (values != previous)
    result: FloatArray = changed.astype(np.float64)
    return result


def interpolated(values: FloatArray, limit: float) -> FloatArray:
    """Gaps of at most `limit` None between two values filled on the line joining them."""
    missing = np.isnan(values)
    if not missing.any() or missing.all():
        return values
    edges = np.diff(np.concatenate(([0], missing.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    lengths = np.flatnonzero(edges == -1) - starts
    inside = (starts > 0) & (starts + lengths < len(values)) & (lengths <= limit)
    fill = np.flatnonzero(missing)[np.repeat(inside, lengths)]
    known = np.flatnonzero(~missing)
    result = values.copy()
    result[fill] = np.interp(fill, known, values[known])
    return result


async def interpolate(ctx: Context, series_list: SeriesList, limit: float) -> SeriesList:
    return [s.derive(f"interpolate({s.name})", interpolated(s.values, limit)) for s in series_list]


async def integral_by_interval(ctx: Context, series_list: SeriesList, unit: str) -> SeriesList:
    """The running total, started again at each interval counted from the range's start."""
    try:
        seconds = abs(parse_offset(unit))
    except ValueError as error:
        raise InputError(
            f'invalid interval for parameter "intervalUnit" of function "integralByInterval": '
            f"{error}"
        ) from None
    if seconds == 0:
        raise InputError('parameter "intervalUnit" of function "integralByInterval" must not be 0')
    results = []
    for s in series_list:
        times = s.start + np.arange(len(s.values)) * s.step
        group = (times - ctx.start) // seconds
        totals = np.cumsum(np.where(np.isnan(s.values), 0.0, s.values))
        starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
        lengths = np.diff(np.append(starts, len(totals)))
        before = np.repeat(np.concatenate(([0.0], totals))[starts], lengths)
        name = f"integralByInterval({s.name},'{unit}')"
        results.append(s.derive(name, totals - before, {"integralByInterval": unit}))
    return results


async def set_x_files_factor(ctx: Context, series_list: SeriesList, factor: float) -> SeriesList:
    """The share of values later consolidation (maxDataPoints, summarize) requires, and
    aggregations across series for the rest of the request, as graphite-web's does."""
    if not 0 <= factor <= 1:
        raise InputError('parameter "xFilesFactor" of function "setXFilesFactor" must be 0 to 1')
    ctx.settings["xFilesFactor"] = factor
    return [
        s.derive(
            s.name,
            tags={"xFilesFactor": factor},
            path_expression=s.path_expression,
            x_files_factor=factor,
        )
        for s in series_list
    ]


async def cumulative(ctx: Context, series_list: SeriesList) -> SeriesList:
    return await consolidate_by(ctx, series_list, "sum")


def running_deviation(values: FloatArray, points: int, tolerance: float) -> FloatArray:
    """Population standard deviation of the `points` points ending at each one, where
    at least `tolerance` of them hold values."""
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)

    def window(column: FloatArray) -> FloatArray:
        totals = np.concatenate(([0.0], np.cumsum(column)))
        ends = np.arange(1, len(column) + 1)
        found: FloatArray = totals[ends] - totals[np.maximum(ends - points, 0)]
        return found

    count = window(present.astype(np.float64))
    total, squares = window(filled), window(filled * filled)
    with np.errstate(invalid="ignore", divide="ignore"):
        deviation = np.sqrt(count * squares - total * total) / count
    keep = (count > 0) & (count / points >= tolerance)
    result: FloatArray = np.where(keep, deviation, np.nan)
    return result


async def stdev(ctx: Context, series_list: SeriesList, points: int, tolerance: float) -> SeriesList:
    if points <= 0:
        raise InputError('parameter "points" of function "stdev" must be above 0')
    return [
        s.derive(
            f"stdev({s.name},{points})",
            running_deviation(s.values, points, tolerance),
            {"stdev": points},
        )
        for s in series_list
    ]


def _percentile_cut(above: bool) -> Impl:
    name = "removeAbovePercentile" if above else "removeBelowPercentile"

    async def impl(ctx: Context, series_list: SeriesList, n: float) -> SeriesList:
        if n <= 0:
            raise InputError(f"{name}: the requested percent must be greater than 0")
        results = []
        for s in series_list:
            label = f"{name}({s.name}, {format_number(n)})"
            if np.isnan(s.values).all():
                results.append(s.derive(label))
                continue
            percentile = percentile_rows(s.values[None, :], n, interpolate=False)[0]
            with np.errstate(invalid="ignore"):
                drop = s.values > percentile if above else s.values < percentile
            results.append(s.derive(label, np.where(drop, np.nan, s.values)))
        return results

    return impl


async def pow_series(ctx: Context, *series_lists: SeriesList) -> SeriesList:
    """The first series raised to the second, that to the third, ... at each point."""
    series_list = [s for series_list in series_lists for s in series_list]
    if not series_list:
        return []
    normalized = normalize(series_list)
    with np.errstate(all="ignore"):
        values = normalized.matrix[0].copy()
        for row in normalized.matrix[1:]:
            values = _finite(np.power(values, row))
    name = f"powSeries({','.join(s.name for s in series_list)})"
    return [combined(ctx, name, normalized, values)]


_SERIES = Param("seriesList", "seriesList", required=True)

FUNCTIONS = (
    Function(
        "add",
        "Transform",
        "The constant added to each value.",
        (_SERIES, Param("constant", "float", required=True)),
        add,
    ),
    _each("exp", "e raised to each value.", np.exp, "e"),
    _each(
        "sigmoid",
        "The logistic function 1 / (1 + e^-x) of each value.",
        lambda v: 1 / (1 + np.exp(-v)),
        "sigmoid",
    ),
    _each(
        "logit",
        "log(x / (1 - x)) of each value; None outside 0..1.",
        lambda v: _finite(np.log(v / (1 - v))),
        "logit",
    ),
    Function(
        "log",
        "Transform",
        "The logarithm of each value above 0 in the base given (10).",
        (_SERIES, Param("base", "integer", default=10)),
        logarithm,
    ),
    Function(
        "round",
        "Transform",
        "Each value rounded to the given number of decimals (0).",
        (_SERIES, Param("precision", "integer", default=0, absent=None)),
        round_values,
    ),
    Function(
        "minMax",
        "Transform",
        "Each series scaled to 0..1 between its lowest and highest value.",
        (_SERIES,),
        min_max,
    ),
    _each(
        "changed",
        "1 where the value differs from the last value seen, else 0.",
        changes,
        None,
        "Special",
    ),
    Function(
        "interpolate",
        "Transform",
        "Gaps of at most limit missing points filled on the line between their neighbours.",
        (_SERIES, Param("limit", "intOrInf", default=float("inf"))),
        interpolate,
    ),
    Function(
        "integralByInterval",
        "Transform",
        "The running total, started again at each interval from the start of the range.",
        (_SERIES, Param("intervalUnit", "string", required=True)),
        integral_by_interval,
    ),
    Function(
        "setXFilesFactor",
        "Special",
        "The share of values a consolidated point needs (maxDataPoints, summarize).",
        (_SERIES, Param("xFilesFactor", "float", required=True)),
        set_x_files_factor,
    ),
    Function("cumulative", "Special", "consolidateBy(seriesList, 'sum').", (_SERIES,), cumulative),
    Function(
        "stdev",
        "Calculate",
        "The standard deviation of the points ending at each one, where windowTolerance of "
        "them hold values.",
        (
            _SERIES,
            Param("points", "integer", required=True),
            Param("windowTolerance", "float", default=0.1),
        ),
        stdev,
    ),
    Function(
        "removeAbovePercentile",
        "Filter Data",
        "Points above the n-th percentile of their series removed.",
        (_SERIES, Param("n", "float", required=True)),
        _percentile_cut(above=True),
    ),
    Function(
        "removeBelowPercentile",
        "Filter Data",
        "Points below the n-th percentile of their series removed.",
        (_SERIES, Param("n", "float", required=True)),
        _percentile_cut(above=False),
    ),
    Function(
        "powSeries",
        "Combine",
        "The first series raised to the power of the next, point by point.",
        (Param("seriesList", "seriesList", required=True, multiple=True),),
        pow_series,
        aggregator=True,
    ),
)
