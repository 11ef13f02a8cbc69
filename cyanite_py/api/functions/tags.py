"""Tagged series: seriesByTag finds them, groupByTags and aliasByTags work by their tags.

A tagged series is named by its path (`cpu;dc=eu;host=web01`) and carries its tags,
`name` among them; seriesByTag's series take the call as written for their path
expression, as graphite-web names them, so `sumSeries(seriesByTag('name=cpu'))` is
named so.
"""

from __future__ import annotations

from dataclasses import replace

from cyanite_py.api.functions.combine import aggregate
from cyanite_py.api.functions.evaluate import Context, read, spread
from cyanite_py.api.functions.naming import alias_by_node
from cyanite_py.api.functions.registry import Function, Param
from cyanite_py.api.functions.series import InputError, RenderSeries
from cyanite_py.tags import TagError, TagQuery, parse_tags

SeriesList = list[RenderSeries]


async def series_by_tag(ctx: Context, *expressions: str) -> SeriesList:
    """The tagged series meeting every expression, sorted by path."""
    try:
        query = TagQuery.parse(expressions)
    except TagError as error:
        raise InputError(f"seriesByTag: {error}") from None
    return await read(await ctx.source.find_series(query), "", ctx)


async def group_by_tags(
    ctx: Context, series_list: SeriesList, callback: str, *tags: str
) -> SeriesList:
    """Series grouped by the values of `tags`, each group combined by `callback` and
    named as a tagged series: the common name (else the callback), then `;tag=value`."""
    name = None
    if "name" not in tags:
        names = {series.tags.get("name", "") for series in series_list}
        name = names.pop() if len(names) == 1 else callback
    groups: dict[str, SeriesList] = {}
    for series in series_list:
        pairs = sorted(f"{tag}={series.tags.get(tag, '')}" for tag in tags if tag != "name")
        key = ";".join([series.tags.get("name", "") if name is None else name, *pairs])
        groups.setdefault(key, []).append(series)
    function = ctx.functions.get(callback)
    results: SeriesList = []
    for key, members in groups.items():
        if function is not None and function.aggregator:
            combined = await function.impl(ctx, *spread(function, [members]))
        else:
            combined = aggregate(ctx, members, callback)
        results.append(replace(combined[0], name=key, path_expression=key, tags=_key_tags(key)))
    return results


def _key_tags(key: str) -> dict[str, str]:
    """The tags a group's name spells; a series without one of the tags groups under an
    empty value, which no tagged name may hold, so those are read by hand."""
    try:
        return parse_tags(key)
    except TagError:
        name, *pairs = key.split(";")
        tags = {tag: value for tag, _, value in (pair.partition("=") for pair in pairs)}
        return {**tags, "name": name}


FUNCTIONS = (
    Function(
        "seriesByTag",
        "Special",
        "The tagged series meeting every tag expression: tag=value, tag!=value, "
        "tag=~regex or tag!=~regex (regular expressions anchored at the value's start). "
        "A series without a tag has the empty value; at least one expression must need "
        "a value that is not empty.",
        (Param("tagExpressions", "string", required=True, multiple=True),),
        series_by_tag,
        named_by_call=True,
    ),
    Function(
        "groupByTags",
        "Combine",
        "Series grouped by the values of the given tags, each group combined by the "
        "callback and named as a tagged series.",
        (
            Param("seriesList", "seriesList", required=True),
            Param("callback", "aggOrSeriesFunc", required=True),
            Param("tags", "tag", required=True, multiple=True),
        ),
        group_by_tags,
    ),
    Function(
        "aliasByTags",
        "Alias",
        "Each series renamed to the values of the given tags, or nodes of its path, "
        "joined by dots.",
        (
            Param("seriesList", "seriesList", required=True),
            Param("tags", "nodeOrTag", required=True, multiple=True),
        ),
        alias_by_node,
    ),
)
