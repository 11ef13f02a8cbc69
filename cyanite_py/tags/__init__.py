"""Graphite's tagged series: their names, and the expressions that select them."""

from cyanite_py.tags.expressions import TagExpression, TagFilter, TagQuery
from cyanite_py.tags.names import (
    TagError,
    format_tags,
    is_tagged,
    normalise,
    parse_tags,
    series_tags,
)

__all__ = [
    "TagError",
    "TagExpression",
    "TagFilter",
    "TagQuery",
    "format_tags",
    "is_tagged",
    "normalise",
    "parse_tags",
    "series_tags",
]
