"""Tag expressions, as seriesByTag and /tags/findSeries take them, and the filters that
/tags lists tags and values by.

`tag=value` and `tag!=value` compare a series' value of `tag`; `tag=~regex` and
`tag!=~regex` match it against a regular expression anchored at the value's start (not
its end), as graphite-web anchors it. A series without the tag matches as if its value
were empty, so `dc!=eu` takes the series with no `dc`, and `dc=` only those. A query
must hold at least one expression that an empty value fails, or it would match every
series. Regular expressions run on RE2, so matching takes time linear in the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cyanite_py.linear_regex import Regex, RegexError, compile_linear
from cyanite_py.tags.names import TagError

OPERATORS = ("=", "!=", "=~", "!=~")
_EXPRESSION = re.compile(r"([^;!=]+)(!?=~?)([^;]*)")


def compile_anchored(pattern: str) -> Regex:
    """`pattern` on RE2, matched from the start of a text as graphite-web matches tag
    expressions. A TagError says why it cannot be compiled."""
    try:
        return compile_linear(pattern, anchored=True)
    except RegexError as error:
        raise TagError(str(error)) from None


@dataclass(frozen=True, slots=True)
class TagExpression:
    """One condition on a tag's value; `matches_empty` says whether a series without the
    tag meets it."""

    tag: str
    operator: str
    value: str
    regex: Regex | None = field(default=None, init=False, repr=False, compare=False)
    matches_empty: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.operator not in OPERATORS:
            raise TagError(f"unknown tag operator {self.operator!r}")
        if self.operator.endswith("~"):
            object.__setattr__(self, "regex", compile_anchored(self.value))
        object.__setattr__(self, "matches_empty", self.matches(""))

    @classmethod
    def parse(cls, text: str) -> TagExpression:
        """`tag=value`, `tag!=value`, `tag=~regex` or `tag!=~regex`; the tag may not hold
        `;`, `!` or `=`, the value may not hold `;`."""
        found = _EXPRESSION.fullmatch(text)
        if found is None:
            raise TagError(f"invalid tag expression {text[:200]!r}")
        return cls(*found.groups())

    @classmethod
    def has(cls, tag: str) -> TagExpression:
        """The condition that a series has `tag` at all (`tag!=`)."""
        return cls(tag, "!=", "")

    def matches(self, value: str) -> bool:
        """Whether a series whose tag holds `value` (empty when it lacks it) meets this."""
        if self.regex is None:
            return (value == self.value) == (self.operator == "=")
        return (self.regex.match(value) is not None) == (self.operator == "=~")

    def __str__(self) -> str:
        return f"{self.tag}{self.operator}{self.value}"


@dataclass(frozen=True, slots=True)
class TagQuery:
    """Expressions a series must all meet; at least one must need a non-empty value."""

    expressions: tuple[TagExpression, ...]

    def __post_init__(self) -> None:
        if not self.expressions:
            raise TagError("no tag expressions given")
        if all(expression.matches_empty for expression in self.expressions):
            raise TagError(
                "at least one tag expression must need a non-empty value "
                f"(none of {', '.join(map(str, self.expressions))[:200]} does)"
            )

    @classmethod
    def parse(cls, texts: Iterable[str], *more: TagExpression) -> TagQuery:
        """The query of the expressions written in `texts`, and `more`."""
        return cls((*map(TagExpression.parse, texts), *more))

    @property
    def tags(self) -> frozenset[str]:
        """The tags the expressions name."""
        return frozenset(expression.tag for expression in self.expressions)

    @property
    def required(self) -> tuple[TagExpression, ...]:
        """The expressions only a series holding their tag can meet."""
        return tuple(e for e in self.expressions if not e.matches_empty)

    def matches(self, tags: Mapping[str, str]) -> bool:
        """Whether a series with `tags` meets every expression."""
        return all(e.matches(tags.get(e.tag, "")) for e in self.expressions)

    def __str__(self) -> str:
        return ", ".join(repr(str(expression)) for expression in self.expressions)


@dataclass(frozen=True, slots=True)
class TagFilter:
    """A regular expression that tags or values are listed by, matched from their start."""

    pattern: str
    regex: Regex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", compile_anchored(self.pattern))

    def matches(self, text: str) -> bool:
        return self.regex.match(text) is not None
