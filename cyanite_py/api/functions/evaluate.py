"""Evaluates a target tree: fetches path expressions, binds arguments, runs functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import tzinfo
from typing import Protocol, cast

from cyanite_py.api.attime import UTC
from cyanite_py.api.functions.registry import SERIES_TYPES, Function, Param
from cyanite_py.api.functions.series import InputError, RenderSeries
from cyanite_py.api.limits import UNBOUNDED, Budget, Deadline
from cyanite_py.api.target import Call, Node, Path
from cyanite_py.index.base import Node as IndexNode
from cyanite_py.model import Aggregate, FloatArray, Series
from cyanite_py.tags import TagQuery


class Source(Protocol):
    """What evaluation needs of the reader."""

    async def find(self, pattern: str) -> list[IndexNode]: ...

    async def find_series(self, query: TagQuery) -> list[str]: ...

    async def event_times(self, start: int, end: int, tags: tuple[str, ...]) -> list[float]: ...

    async def fetch(
        self,
        paths: Sequence[str],
        start: int,
        end: int,
        aggregate: Aggregate | None = None,
    ) -> list[Series]: ...


@dataclass(frozen=True, slots=True)
class Context:
    """One render request's time range and settings; functions may shift the range."""

    source: Source
    start: int
    end: int
    now: int
    functions: Mapping[str, Function]
    tz: tzinfo = UTC
    x_files_factor: float = 0.0
    budget: Budget = field(default_factory=lambda: Budget(UNBOUNDED))
    deadline: Deadline | None = None
    settings: dict[str, float] = field(default_factory=dict)
    """What functions set for the rest of the request (setXFilesFactor), shared by every
    context derived from this one."""
    stacks: dict[str, FloatArray] = field(default_factory=dict)
    """The running totals of `stacked`, by stack name, across the request's targets."""

    def over(self, start: int, end: int) -> Context:
        return replace(self, start=start, end=end)

    def aggregation_factor(self) -> float:
        """The xFilesFactor aggregations default to: the last setXFilesFactor's, else the
        request's."""
        return self.settings.get("xFilesFactor", self.x_files_factor)


@dataclass(frozen=True, slots=True)
class Lazy:
    """A series argument left unevaluated, for functions that read it over another range."""

    node: Call | Path
    ctx: Context

    async def over(self, start: int, end: int) -> list[RenderSeries]:
        return await evaluate(self.node, self.ctx.over(start, end))


async def evaluate(tree: Call | Path, ctx: Context) -> list[RenderSeries]:
    """The series a target yields over the context's range."""
    if ctx.deadline is not None:
        ctx.deadline.check()
    if isinstance(tree, Path):
        return await fetch(tree.text, ctx)
    function = ctx.functions.get(tree.name)
    if function is None:
        raise InputError(f"unknown function {tree.name!r} at position {tree.position}")
    if function.lists:
        raise InputError(f"{tree.name} gives lists of series, which only reduceSeries takes")
    values = await _bind(function, tree, ctx)
    results = await function.impl(ctx, *values)
    if function.named_by_call:
        for series in results:
            series.path_expression = tree.text
    return results


async def evaluate_lists(tree: Call | Path, ctx: Context) -> list[list[RenderSeries]]:
    """The lists of series a `seriesLists` argument stands for: those of mapSeries, or
    the one list any other target yields."""
    function = ctx.functions.get(tree.name) if isinstance(tree, Call) else None
    if function is None or not function.lists:
        return [await evaluate(tree, ctx)]
    assert isinstance(tree, Call)
    lists = await function.impl(ctx, *await _bind(function, tree, ctx))
    return cast(list[list[RenderSeries]], lists)


def spread(function: Function, lists: Sequence[list[RenderSeries]]) -> list[object]:
    """Each series list as one positional argument of `function`, defaults filled in,
    or an InputError when the function cannot take them so (reduceSeries' callback)."""
    params = function.params
    if function.lazy or not params:
        raise InputError(f"{function.name} cannot be given series lists one by one")
    if len(lists) > len(params) and not params[-1].multiple:
        raise InputError(f"too many series lists for function {function.name!r}")
    values: list[object] = []
    for index, param in enumerate(params):
        if index >= len(lists):
            if param.required and not param.multiple:
                raise _missing(function, param)
            if not param.multiple:
                values.append(param.fill())
            continue
        if param.type not in SERIES_TYPES and param.type != "any":
            raise InputError(
                f'parameter "{param.name}" of function "{function.name}" does not take series'
            )
        if param.multiple:
            values.extend(lists[index:])
            break
        values.append(lists[index])
    return values


async def fetch(pattern: str, ctx: Context) -> list[RenderSeries]:
    """The leaves matching `pattern`, sorted by path, as graphite's fetch aligns them.

    The reader returns the window holding `start` too; graphite (whisper) starts with
    the first window after `start`, so that window is left out.
    """
    leaves = [node.path for node in await ctx.source.find(pattern) if node.leaf]
    return await read(leaves, pattern, ctx)


async def read(paths: Sequence[str], path_expression: str, ctx: Context) -> list[RenderSeries]:
    """The series of `paths` over the context's range, as `fetch` gives them."""
    if not paths:
        return []
    fetched = await ctx.source.fetch(paths, ctx.start, ctx.end)
    results = []
    for series in fetched:
        rendered = RenderSeries.from_model(series, path_expression, ctx.x_files_factor)
        if rendered.start <= ctx.start and len(rendered.values):
            rendered.start += rendered.step
            rendered.values = rendered.values[1:]
        results.append(rendered)
    return results


async def _bind(function: Function, call: Call, ctx: Context) -> list[object]:
    """One checked value per parameter (a `multiple` one spreads), defaults filled in."""
    params = function.params
    if not (params and params[-1].multiple) and len(call.args) + len(call.kwargs) > len(params):
        raise InputError(f"too many arguments for function {function.name!r}")
    known = {param.name for param in params}
    for keyword in call.kwargs:
        if keyword not in known:
            raise InputError(f"unknown parameter {keyword!r} for function {function.name!r}")
    values: list[object] = []
    for index, param in enumerate(params):
        if param.multiple:
            values.extend(
                [await _value(function, param, node, ctx, index == 0) for node in call.args[index:]]
            )
            if param.required and len(call.args) <= index:
                raise _missing(function, param)
            break
        if index < len(call.args):
            if param.name in call.kwargs:
                raise InputError(f"parameter {param.name!r} given twice to {function.name!r}")
            node = call.args[index]
        elif param.name in call.kwargs:
            node = call.kwargs[param.name]
        elif param.required:
            raise _missing(function, param)
        else:
            values.append(param.fill())
            continue
        values.append(await _value(function, param, node, ctx, index == 0))
    return values


async def _value(function: Function, param: Param, node: Node, ctx: Context, first: bool) -> object:
    """An argument evaluated (series) or checked (literals) for its parameter."""
    is_target = isinstance(node, Call | Path)
    if param.type in SERIES_TYPES or (param.type == "any" and is_target):
        if not isinstance(node, Call | Path):
            raise InputError(
                f'parameter "{param.name}" of function "{function.name}" takes series, not {node!r}'
            )
        if function.lazy and first:
            return Lazy(node, ctx)
        if param.type == "seriesLists":
            return await evaluate_lists(node, ctx)
        return await evaluate(node, ctx)
    if node is None and param.multiple:
        raise InputError(
            f'parameter "{param.name}" of function "{function.name}" takes a {param.type}, not None'
        )
    if node is None and not param.required:
        return param.fill()
    if is_target:
        raise InputError(
            f'parameter "{param.name}" of function "{function.name}" takes a {param.type}, '
            f"not series"
        )
    if param.type == "aggOrSeriesFunc":
        callee = ctx.functions.get(str(node))
        if not (callee is not None and callee.aggregator):
            return Param(param.name, "aggFunc").check(function.name, node)
        return node
    return param.check(function.name, node)


def _missing(function: Function, param: Param) -> InputError:
    return InputError(f'missing parameter "{param.name}" for function "{function.name}"')
