"""Names and nodes: aliases, and the node keys that aliasByNode and groupByNode share."""

from __future__ import annotations

from collections.abc import Sequence

from cyanite_py.api.functions.evaluate import Context
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
