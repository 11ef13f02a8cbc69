"""Names and nodes: aliases, and the node keys that aliasByNode and groupByNode share."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from cyanite_py.api.functions.evaluate import Context, evaluate
from cyanite_py.api.functions.regex import compile_regex
from cyanite_py.api.functions.registry import Function, Param
from cyanite_py.api.functions.series import InputError, RenderSeries
from cyanite_py.api.target import Call, Path, parse

SeriesList = list[RenderSeries]


def first_path_expression(name: str) -> str:
    """The first path in a name that reads as a target (`sumSeries(a.b.c)` gives `a.b.c`)."""
    try:
        tree: object = parse(name)
    except ValueError:
        return name
    while isinstance(tree, Call) and tree.args:
        tree = tree.args[0]
    return tree.text if isinstance(tree, Path) else name


def node_or_tag(series: RenderSeries, node: int | str, path: str) -> str:
    """Node `node` of the path (before any `;tags`), else the tag of that name, else ''."""
    if isinstance(node, int):
        nodes = path.split(";", 1)[0].split(".")
        if -len(nodes) <= node < len(nodes):
            return nodes[node]
    return series.tags.get(str(node), "")


def group_key(series: RenderSeries, nodes: Sequence[int | str]) -> str:
    """The chosen nodes joined by dots, read from the series' first path when it is a call."""
    path = first_path_expression(series.name) if series.name.endswith(")") else series.name
    return ".".join(node_or_tag(series, node, path) for node in nodes)


async def alias(ctx: Context, series_list: SeriesList, new_name: str) -> SeriesList:
    return [series.renamed(new_name) for series in series_list]


async def alias_by_node(ctx: Context, series_list: SeriesList, *nodes: int | str) -> SeriesList:
    return [series.renamed(group_key(series, nodes)) for series in series_list]


async def alias_sub(ctx: Context, series_list: SeriesList, search: str, replace: str) -> SeriesList:
    """Names rewritten by a regex; `\\1` in `replace` is the first group, as in Python's re."""
    pattern = compile_regex(search, "aliasSub")
    try:
        return [series.renamed(pattern.sub(replace, series.name)) for series in series_list]
    except (IndexError, ValueError) as error:
        raise InputError(f"aliasSub: invalid replacement {replace!r}: {error}") from None


_WIDE = re.compile(r"\d{4,}")


async def alias_query(
    ctx: Context, series_list: SeriesList, search: str, replace: str, new_name: str
) -> SeriesList:
    """Each series named by `newName` formatted (`%d`, `%.2f`, ...) with the last value of
    the target its name becomes under a regular expression replacement."""
    pattern = compile_regex(search, "aliasQuery")
    if _WIDE.search(new_name):
        raise InputError(f"aliasQuery: newName {new_name[:40]!r} asks for too wide a field")
    results = []
    for series in series_list:
        query = pattern.sub(replace, series.name)
        try:
            found = await evaluate(parse(query), ctx)
        except ValueError as error:
            raise InputError(f"aliasQuery: {query!r} is not a target: {error}") from None
        if not found:
            raise InputError(f"aliasQuery: no series found with query: {query}")
        present = found[0].values[~np.isnan(found[0].values)]
        if not len(present):
            raise InputError(f"aliasQuery: no last value in {found[0].name}")
        try:
            name = new_name % float(present[-1])
        except (TypeError, ValueError, OverflowError) as error:
            raise InputError(f"aliasQuery: cannot format {new_name!r}: {error}") from None
        results.append(series.renamed(name))
    return results


FUNCTIONS = (
    Function(
        "alias",
        "Alias",
        "Every series renamed to the given name.",
        (
            Param("seriesList", "seriesList", required=True),
            Param("newName", "string", required=True),
        ),
        alias,
    ),
    Function(
        "aliasByNode",
        "Alias",
        "Each series renamed to the given nodes of its path (0 is the first, -1 the last), "
        "or tags, joined by dots.",
        (
            Param("seriesList", "seriesList", required=True),
            Param("nodes", "nodeOrTag", required=True, multiple=True),
        ),
        alias_by_node,
    ),
    Function(
        "aliasQuery",
        "Alias",
        "Each series named by newName formatted with the last value of the series its "
        "name becomes under the regular expression replacement.",
        (
            Param("seriesList", "seriesList", required=True),
            Param("search", "string", required=True),
            Param("replace", "string", required=True),
            Param("newName", "string", required=True),
        ),
        alias_query,
    ),
    Function(
        "aliasSub",
        "Alias",
        "Each name rewritten by a regular expression search and replace; \\1 refers to a group.",
        (
            Param("seriesList", "seriesList", required=True),
            Param("search", "string", required=True),
            Param("replace", "string", required=True),
        ),
        alias_sub,
    ),
)
