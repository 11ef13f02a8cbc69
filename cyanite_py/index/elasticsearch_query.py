"""Globs as Elasticsearch queries, and search hits back as nodes.

A glob becomes filters on `depth` and on `nodes` (each name tagged with its position,
`"2:cpu"`): a term per literal name (or a few alternatives), a regexp per wildcard node.
Tagged paths have no `depth`, so no glob reaches them.
Values go into term-level queries as data, never into a query string, so no name needs
escaping. Hits are read from their sort values alone (`path`, `leaf`, `branch`), so a search
loads no stored document; a node written as a leaf and as a branch comes back as two hits
side by side, joined here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cyanite_py.index.base import Node
from cyanite_py.index.elasticsearch_documents import is_tagged_path
from cyanite_py.index.glob import NodePattern, matches
from cyanite_py.index.lucene import node_regexp

SORT: list[dict[str, Any]] = [
    {"path": "asc"},
    {"leaf": {"order": "asc", "missing": 0}},
    {"branch": {"order": "asc", "missing": 0}},
]
"""Hits in path order; the flags (1 or 0) ride along as sort values, and the three make
`search_after` pages exact."""

MAX_TERMS = 64
"""Literal alternatives (`{a,b}`) of a node asked for as terms, at most; past that the
node goes as a regexp."""
MAX_REGEXP = 256
"""Characters of a glob node at most that go to Elasticsearch as a regular expression, so
its automaton stays far below Lucene's limit; a longer node is narrowed by its prefix."""


@dataclass(frozen=True, slots=True)
class GlobQuery:
    """The query for a glob; `exact` when its hits are the glob's matches, no more."""

    query: dict[str, Any]
    exact: bool


def glob_query(patterns: Sequence[NodePattern]) -> GlobQuery:
    """Filters that every path matching `patterns` passes, and whether only those pass."""
    filters: list[dict[str, Any]] = [{"term": {"depth": len(patterns)}}]
    if all(pattern.literals is not None and len(pattern.literals) == 1 for pattern in patterns):
        path = ".".join(pattern.prefix for pattern in patterns)
        return GlobQuery({"bool": {"filter": [{"term": {"path": path}}, *filters]}}, exact=True)
    exact = True
    for position, pattern in enumerate(patterns):
        if pattern.literals is not None and len(pattern.literals) <= MAX_TERMS:
            tags = sorted(f"{position}:{name}" for name in pattern.literals)
            filters.append({"terms": {"nodes": tags}})
        elif pattern.literals is None and pattern.regex is None:
            continue  # `*`: the depth says it all
        elif len(pattern.text) <= MAX_REGEXP:
            regexp = node_regexp(pattern.text)
            value = {"value": f"{position}:{regexp.value}", "flags": "NONE"}
            filters.append({"regexp": {"nodes": value}})
            exact = exact and regexp.exact
        else:
            exact = False
            if pattern.prefix:
                filters.append({"prefix": {"nodes": f"{position}:{pattern.prefix}"}})
    return GlobQuery({"bool": {"filter": filters}}, exact)


def nodes_from_rows(
    rows: Sequence[Sequence[Any]], patterns: Sequence[NodePattern] | None
) -> list[Node]:
    """Nodes from hits' sort values (`SORT`) in path order, one per path, its flags joined
    over its hits; only those `patterns` match when given (an inexact query's hits). A
    tagged path an older layout kept in the tree is left out, as globs never list one."""
    nodes: list[Node] = []
    previous: str | None = None
    kept = False
    for path, leaf, branch in rows:
        if path == previous:
            if kept:
                last = nodes[-1]
                nodes[-1] = Node(path, last.leaf or leaf == 1, last.branch or branch == 1)
            continue
        previous = path
        kept = (patterns is None or matches(patterns, path)) and not is_tagged_path(path)
        if kept:
            nodes.append(Node(path, leaf == 1, branch == 1))
    return nodes
