"""Series made from the request's range alone, and lines drawn from other series."""

from __future__ import annotations

import math

import numpy as np

from cyanite_py.api.attime import parse_time
from cyanite_py.api.functions.evaluate import Context
from cyanite_py.api.functions.registry import Function, Param
from cyanite_py.api.functions.selection import figure
from cyanite_py.api.functions.series import InputError, RenderSeries, aggregator
from cyanite_py.api.functions.special import constant_line
from cyanite_py.model import FloatArray

SeriesList = list[RenderSeries]


def _times(ctx: Context, step: int, function: str) -> FloatArray:
    """The times from the range's start, every `step` seconds, before its end."""
    if step <= 0:
        raise InputError(f'parameter "step" of function "{function}" must be above 0')
    count = math.ceil((ctx.end - ctx.start) / step)
    ctx.budget.charge(count, f"{function} every {step} s")
    times: FloatArray = (ctx.start + np.arange(count) * step).astype(np.float64)
    return times


def _made(ctx: Context, name: str, step: int, values: FloatArray) -> RenderSeries:
    return RenderSeries(
        name=name,
        path_expression=name,
        start=ctx.start,
        end=ctx.end,
        step=step,
        values=values,
        x_files_factor=ctx.x_files_factor,
    )


async def time_function(ctx: Context, name: str, step: int) -> SeriesList:
    """Each point's own time, in seconds since the epoch."""
    return [_made(ctx, name, step, _times(ctx, step, "timeFunction"))]


async def identity(ctx: Context, name: str) -> SeriesList:
    series = _made(ctx, name, 60, _times(ctx, 60, "identity"))
    series.path_expression = f'identity("{name}")'
    return [series]


async def sin_function(ctx: Context, name: str, amplitude: int, step: int) -> SeriesList:
    """A sine of each point's time in seconds, times the amplitude."""
    return [_made(ctx, name, step, np.sin(_times(ctx, step, "sinFunction")) * amplitude)]


async def random_walk(ctx: Context, name: str, step: int) -> SeriesList:
    """From 0, a step of -0.5 to 0.5 at random at each point."""
    times = _times(ctx, step, "randomWalkFunction")
    steps = np.random.default_rng().random(len(times)) - 0.5
    walk = np.concatenate(([0.0], np.cumsum(steps)[:-1])) if len(times) else times
    return [_made(ctx, name, step, walk)]


async def events(ctx: Context, *tags: str) -> SeriesList:
    """How many events happened in each second of the range, for `drawAsInfinite`: those
    carrying every one of `tags` that some event has, or all of them for `"*"`."""
    name = 'events("' + '", "'.join(tags) + '")'
    wanted = () if tags == ("*",) else tags
    count = ctx.end - ctx.start
    ctx.budget.charge(count, "events() at 1 s")
    times = np.asarray(await ctx.source.event_times(ctx.start, ctx.end, wanted))
    offsets = np.floor(times).astype(np.int64) - ctx.start
    per_second = np.bincount(offsets[(offsets >= 0) & (offsets < count)], minlength=count)
    values: FloatArray = np.where(per_second > 0, per_second, np.nan)
    series = _made(ctx, name, 1, values)
    series.consolidation_func = "sum"
    return [series]


async def vertical_line(
    ctx: Context, ts: object, label: str | None, color: str | None
) -> SeriesList:
    """A single 1 at time `ts` (read as `from` is), which a graph draws as a vertical
    line; the time must fall in the range. Named by `label`, else by `ts` as written
    (graphite-web leaves it unnamed)."""
    try:
        when = parse_time(str(ts), ctx.now, ctx.tz)
    except ValueError as error:
        raise InputError(f"verticalLine: {error}") from None
    if not ctx.start <= when <= ctx.end:
        side = "before the start" if when < ctx.start else "after the end"
        raise InputError(f"verticalLine(): timestamp {when} is {side} of the range")
    name = str(ts) if label is None else label
    line = RenderSeries(
        name=name,
        path_expression=name,
        start=when,
        end=when + 1,
        step=1,
        values=np.ones(1),
        x_files_factor=ctx.x_files_factor,
    )
    return [line]


async def threshold(ctx: Context, value: float, label: str | None, color: str | None) -> SeriesList:
    """constantLine, named by the label when one is given."""
    (line,) = constant_line(ctx, value)
    return [line.renamed(label) if label else line]


async def aggregate_line(
    ctx: Context, series_list: SeriesList, func: str, keep_step: bool
) -> SeriesList:
    """A line at an aggregate of each series (its average by default), across the range
    or, with keepStep, at the series' own points."""
    aggregator(func)
    results = []
    for series in series_list:
        value = figure(series, func)
        shown = "None" if value is None else f"{value:g}"
        name = f"aggregateLine({series.name}, {shown})"
        level = math.nan if value is None else value
        if keep_step:
            results.append(series.derive(name, np.full(len(series.values), level)))
            continue
        (line,) = constant_line(ctx, level)
        line.name = line.path_expression = name
        if value is None:
            line.tags = {"name": "None"}
        results.append(line)
    return results


async def area_between(ctx: Context, series_list: SeriesList) -> SeriesList:
    """Two series drawn as the area between them, both named areaBetween(path)."""
    if len(series_list) != 2:
        raise InputError("areaBetween series argument must reference exactly 2 series")
    lower, upper = series_list
    name = f"areaBetween({upper.path_expression})"
    tags = {**upper.tags, "areaBetween": "1"}
    return [
        lower.derive(name, tags=tags, path_expression=lower.path_expression),
        upper.derive(name, tags=tags, path_expression=upper.path_expression),
    ]


_NAME = Param("name", "string", required=True)
_STEP = Param("step", "integer", default=60)

FUNCTIONS = (
    Function(
        "timeFunction",
        "Transform",
        "A series whose value at each point is its time in seconds since the epoch.",
        (_NAME, _STEP),
        time_function,
    ),
    Function(
        "identity",
        "Calculate",
        "A series whose value is its time, a point a minute: a line of slope 1.",
        (_NAME,),
        identity,
    ),
    Function(
        "sinFunction",
        "Transform",
        "The sine of each point's time, times the amplitude.",
        (_NAME, Param("amplitude", "integer", default=1), _STEP),
        sin_function,
    ),
    Function(
        "randomWalkFunction",
        "Special",
        "A random walk from 0, a point every step seconds.",
        (_NAME, _STEP),
        random_walk,
    ),
    Function(
        "events",
        "Special",
        'How many events carrying the tags (every event for "*") happened in each second.',
        (Param("tags", "string", required=True, multiple=True),),
        events,
    ),
    Function(
        "verticalLine",
        "Graph",
        "A vertical line at the time, named by the label if given.",
        (
            Param("ts", "date", required=True),
            Param("label", "string"),
            Param("color", "string"),
        ),
        vertical_line,
    ),
    Function(
        "threshold",
        "Graph",
        "A horizontal line at the value, named by the label if given.",
        (
            Param("value", "float", required=True),
            Param("label", "string"),
            Param("color", "string"),
        ),
        threshold,
    ),
    Function(
        "aggregateLine",
        "Calculate",
        "A horizontal line at an aggregate of each series (average by default).",
        (
            Param("seriesList", "seriesList", required=True),
            Param("func", "aggFunc", default="average"),
            Param("keepStep", "boolean", default=False),
        ),
        aggregate_line,
    ),
    Function(
        "areaBetween",
        "Graph",
        "Two series drawn as the area between them.",
        (Param("seriesList", "seriesList", required=True),),
        area_between,
    ),
)
