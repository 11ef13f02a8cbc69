"""Graphite's tag queries over the tagged paths of the Elasticsearch index.

Each tagged path is a document with `tags` (`"dc=eu"`) and `tag_names` (`"dc"`), see
`elasticsearch_documents`. An expression `tag=value` or `tag!=value` is a term on `tags`,
`tag=` and `tag!=` one on `tag_names`: Elasticsearch answers those exactly. A regular
expression (RE2) is never handed to Elasticsearch: the series must hold its tag, and start
its value with the expression's literal prefix when it has one; the candidates are then
matched here with the expression itself. Tags and values are listed from composite
aggregations, which walk the distinct keys in order, page by page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cyanite_py.index.base import TagValue
from cyanite_py.tags import TagFilter, TagQuery, parse_tags

Search = Callable[[dict[str, Any], str], Awaitable[dict[str, Any]]]
"""Runs a search body on the index, answering the response body cut to a filter_path."""

TAGS = "tags"
NAMES = "tag_names"
_REGEX_SPECIAL = frozenset("\\.+*?()[]{}|^$")
_OPTIONAL = frozenset("*?{")
"""Quantifiers that let the character before them be absent."""


def _everything(text: str) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    """The filter for a tag query; `exact` when its hits are the query's series, no more."""

    query: dict[str, Any]
    exact: bool


def series_query(query: TagQuery) -> SeriesQuery:
    """What every series meeting `query` passes, and whether only those pass."""
    filters: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    exact = True
    for expression in query.expressions:
        tag, value = expression.tag, expression.value
        if expression.regex is not None:
            exact = False
            if not expression.matches_empty:
                prefix = regex_prefix(value) if expression.operator == "=~" else ""
                filters.append(
                    {"prefix": {TAGS: f"{tag}={prefix}"}} if prefix else {"term": {NAMES: tag}}
                )
        elif value:
            term = {"term": {TAGS: f"{tag}={value}"}}
            (filters if expression.operator == "=" else refused).append(term)
        else:  # `tag=`: the series lacks the tag; `tag!=`: it holds it
            term = {"term": {NAMES: tag}}
            (refused if expression.operator == "=" else filters).append(term)
    return SeriesQuery({"bool": {"filter": filters, "must_not": refused}}, exact)


def regex_prefix(pattern: str) -> str:
    """Characters every value that `pattern` matches from its start begins with; "" when
    the pattern has alternatives or starts with anything but plain characters."""
    if "|" in pattern:
        return ""
    pattern = pattern.removeprefix("^")
    end = 0
    while end < len(pattern) and pattern[end] not in _REGEX_SPECIAL:
        end += 1
    if end < len(pattern) and pattern[end] in _OPTIONAL:
        end -= 1
    return pattern[: max(end, 0)]


class ElasticsearchTags:
    """Answers the tag queries of `cyanite_py.index.base.TagIndex` through `search`."""

    def __init__(self, search: Search, page_size: int) -> None:
        self._search = search
        self._page_size = page_size

    async def find_series(self, query: TagQuery, limit: int) -> list[str]:
        return await self._series(query, limit) if limit > 0 else []

    async def list_tags(self, tag_filter: TagFilter | None, limit: int) -> list[str]:
        wanted = _everything if tag_filter is None else tag_filter.matches
        found = await self._keys(NAMES, {"exists": {"field": NAMES}}, wanted, limit)
        return [tag for tag, _ in found]

    async def list_values(
        self, tag: str, value_filter: TagFilter | None, limit: int
    ) -> list[TagValue]:
        wanted = _everything if value_filter is None else value_filter.matches
        found = await self._values(tag, {"term": {NAMES: tag}}, wanted, limit)
        return [TagValue(value, count) for value, count in found]

    async def autocomplete_tags(self, query: TagQuery | None, prefix: str, limit: int) -> list[str]:
        narrowed: dict[str, Any] = {"prefix": {NAMES: prefix}}
        if not prefix:
            narrowed = {"exists": {"field": NAMES}}
        named = frozenset[str]()
        if query is not None:
            series = series_query(query)
            if not series.exact:
                held = {tag for path in await self._series(query) for tag in parse_tags(path)}
                return _sorted_first(held - query.tags, prefix, limit)
            narrowed, named = {"bool": {"filter": [narrowed, series.query]}}, query.tags

        def wanted(tag: str) -> bool:
            return tag.startswith(prefix) and tag not in named

        return [tag for tag, _ in await self._keys(NAMES, narrowed, wanted, limit)]

    async def autocomplete_values(
        self, query: TagQuery | None, tag: str, prefix: str, limit: int
    ) -> list[str]:
        narrowed: dict[str, Any] = {"prefix": {TAGS: f"{tag}={prefix}"}}
        if query is not None:
            series = series_query(query)
            if not series.exact:
                held = {parse_tags(path).get(tag) for path in await self._series(query)}
                return _sorted_first((value for value in held if value is not None), prefix, limit)
            narrowed = {"bool": {"filter": [narrowed, series.query]}}
        return [value for value, _ in await self._values(tag, narrowed, _everything, limit)]

    async def _series(self, query: TagQuery, limit: int | None = None) -> list[str]:
        """The first `limit` tagged paths meeting `query` (all when None), in order:
        Elasticsearch's hits as they are when its filter is exact, else those whose own
        tags meet the query."""
        series = series_query(query)
        size = self._page_size if limit is None else min(limit, self._page_size)
        body: dict[str, Any] = {
            "query": series.query,
            "sort": [{"path": "asc"}],
            "size": size,
            "stored_fields": "_none_",
            "track_total_hits": False,
        }
        found: list[str] = []
        while limit is None or len(found) < limit:
            response = await self._search(body, "hits.hits.sort")
            hits = response.get("hits", {}).get("hits", [])
            paths = [hit["sort"][0] for hit in hits]
            if not series.exact:
                paths = [path for path in paths if query.matches(parse_tags(path))]
            found += paths
            if len(hits) < size:
                break
            body["search_after"] = hits[-1]["sort"]
        return found[:limit]

    async def _values(
        self, tag: str, narrowed: dict[str, Any], wanted: Callable[[str], bool], limit: int
    ) -> list[tuple[str, int]]:
        """The first `limit` values of `tag` that are `wanted`, in order, with how many
        series hold each, over the series `narrowed` finds: a tag's keys in `tags` sort
        together, right after `tag=`."""
        start = f"{tag}="

        def within(key: str) -> bool:
            return key.startswith(start)

        def wanted_key(key: str) -> bool:
            return wanted(key[len(start) :])

        found = await self._keys(TAGS, narrowed, wanted_key, limit, after=start, within=within)
        return [(key[len(start) :], count) for key, count in found]

    async def _keys(
        self,
        field: str,
        narrowed: dict[str, Any],
        wanted: Callable[[str], bool],
        limit: int,
        after: str | None = None,
        within: Callable[[str], bool] = _everything,
    ) -> list[tuple[str, int]]:
        """The first `limit` distinct values of `field` (past `after`) that are `wanted`,
        over the documents `narrowed` finds, in order, with how many documents hold each;
        the walk ends at the first value not `within`."""
        composite: dict[str, Any] = {
            "size": self._page_size,
            "sources": [{"key": {"terms": {"field": field}}}],
        }
        if after is not None:
            composite["after"] = {"key": after}
        body = {
            "query": narrowed,
            "size": 0,
            "track_total_hits": False,
            "aggs": {"keys": {"composite": composite}},
        }
        found: list[tuple[str, int]] = []
        while len(found) < limit:
            response = await self._search(body, "aggregations.keys")
            keys = response.get("aggregations", {}).get("keys", {})
            buckets = keys.get("buckets", [])
            for bucket in buckets:
                key = bucket["key"]["key"]
                if not within(key):
                    return found
                if wanted(key):
                    found.append((key, bucket["doc_count"]))
                    if len(found) == limit:
                        return found
            if len(buckets) < self._page_size:
                break
            composite["after"] = keys["after_key"]
        return found


def _sorted_first(items: Iterable[str], prefix: str, limit: int) -> list[str]:
    return sorted(item for item in items if item.startswith(prefix))[:limit]
