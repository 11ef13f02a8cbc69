"""The memory index's tagged paths: per tag and value, the ids of the paths holding it.

Only tagged paths cost anything here, about one list entry per tag of each. A query
narrows by the postings of the expressions that need their tag, then drops the paths
whose values fail the others; once few paths are left it reads their own tags instead.

Queries run in worker threads while `add` runs on the event loop: every dictionary is
copied (one C-level step under the GIL) before it is iterated, and lists only grow.
"""

from __future__ import annotations

import heapq
from itertools import islice

from cyanite_py.index.base import TagValue
from cyanite_py.tags import TagError, TagExpression, TagFilter, TagQuery, parse_tags

Postings = dict[str, list[int]]
"""The ids of the paths holding each value of one tag."""
_PARSE_COST = 64
"""About how many postings can be gathered in the time one path's tags are read."""


class TagTable:
    """Tagged paths, numbered in the order they came, and their tags' postings."""

    def __init__(self) -> None:
        self._paths: list[str] = []
        self._ids: dict[str, int] = {}
        self._postings: dict[str, Postings] = {}

    def __len__(self) -> int:
        return len(self._paths)

    def __contains__(self, path: str) -> bool:
        return path in self._ids

    def take(self, path: str) -> bool:
        """Hold `path` if it is a tagged path; False leaves it to the glob tree."""
        if path in self._ids:
            return True
        try:
            tags = parse_tags(path)
        except TagError:
            return False
        path_id = len(self._paths)
        self._paths.append(path)
        self._ids[path] = path_id
        for tag, value in tags.items():
            self._postings.setdefault(tag, {}).setdefault(value, []).append(path_id)
        return True

    def find_series(self, query: TagQuery, limit: int) -> list[str]:
        paths = self._paths
        return heapq.nsmallest(limit, (paths[i] for i in self._matching(query)))

    def list_tags(self, tag_filter: TagFilter | None, limit: int) -> list[str]:
        tags = list(self._postings)
        if tag_filter is not None:
            tags = [tag for tag in tags if tag_filter.matches(tag)]
        return heapq.nsmallest(limit, tags)

    def list_values(self, tag: str, value_filter: TagFilter | None, limit: int) -> list[TagValue]:
        values = list(self._postings.get(tag, {}).items())
        if value_filter is not None:
            values = [(value, ids) for value, ids in values if value_filter.matches(value)]
        first = heapq.nsmallest(limit, values, key=_value)
        return [TagValue(value, len(ids)) for value, ids in first]

    def autocomplete_tags(self, query: TagQuery | None, prefix: str, limit: int) -> list[str]:
        tags = sorted(tag for tag in list(self._postings) if tag.startswith(prefix))
        if query is None:
            return tags[:limit]
        tags = [tag for tag in tags if tag not in query.tags]
        matching = self._matching(query)
        postings = {tag: list(self._postings[tag].values()) for tag in tags}
        if len(matching) * _PARSE_COST < sum(map(_size, postings.values())):
            held = {tag for path_id in matching for tag in self._tags_of(path_id)}
            return [tag for tag in tags if tag in held][:limit]
        found = (tag for tag in tags if any(not matching.isdisjoint(i) for i in postings[tag]))
        return list(islice(found, limit))

    def autocomplete_values(
        self, query: TagQuery | None, tag: str, prefix: str, limit: int
    ) -> list[str]:
        postings = list(self._postings.get(tag, {}).items())
        values = sorted((item for item in postings if item[0].startswith(prefix)), key=_value)
        if query is None:
            return [value for value, _ in values[:limit]]
        matching = self._matching(query)
        if len(matching) * _PARSE_COST < _size([ids for _, ids in values]):
            held = {self._tags_of(path_id).get(tag) for path_id in matching}
            return [value for value, _ in values if value in held][:limit]
        found = (value for value, ids in values if not matching.isdisjoint(ids))
        return list(islice(found, limit))

    def _matching(self, query: TagQuery) -> set[int]:
        """The ids of the paths meeting every expression: the paths the narrowest
        expression needing its tag keeps, then those the others keep, less those the
        expressions an empty value meets refuse. Once few paths are left, their own tags
        are read instead of gathering large postings."""
        required = [(self._postings_where(e, True), e) for e in query.required]
        required.sort(key=lambda item: _size(item[0]))
        matching = _union(required[0][0])
        for postings, expression in required[1:]:
            if _size(postings) > len(matching) * _PARSE_COST:
                matching = self._meeting(matching, expression)
            else:
                matching &= _union(postings)
        for expression in query.expressions:
            if not (expression.matches_empty and matching):
                continue
            refused = self._postings_where(expression, False)
            if _size(refused) > len(matching) * _PARSE_COST:
                matching = self._meeting(matching, expression)
            else:
                for ids in refused:
                    matching.difference_update(ids)
        return matching

    def _meeting(self, ids: set[int], expression: TagExpression) -> set[int]:
        """The paths among `ids` whose own value of the tag meets `expression`."""
        tag = expression.tag
        return {i for i in ids if expression.matches(self._tags_of(i).get(tag, ""))}

    def _postings_where(self, expression: TagExpression, meeting: bool) -> list[list[int]]:
        """The postings of the values of the expression's tag that meet it (or fail it)."""
        postings = self._postings.get(expression.tag)
        if postings is None:
            return []
        if expression.regex is None and (expression.operator == "=") == meeting:
            exact = postings.get(expression.value)  # the one value `=` keeps, `!=` refuses
            return [] if exact is None else [exact]
        return [
            ids for value, ids in list(postings.items()) if expression.matches(value) == meeting
        ]

    def _tags_of(self, path_id: int) -> dict[str, str]:
        return parse_tags(self._paths[path_id])


def _size(postings: list[list[int]]) -> int:
    return sum(map(len, postings))


def _union(postings: list[list[int]]) -> set[int]:
    return set(postings[0]).union(*postings[1:]) if postings else set()


def _value(item: tuple[str, list[int]]) -> str:
    return item[0]
