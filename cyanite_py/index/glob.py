"""Graphite glob semantics, one path node at a time.

A pattern is split on `.`; each node may hold `*` (any run of characters), `?` (one
character), `[a-z]` and `[!a-z]` (a character class and its negation) and `{a,b}`
(alternatives, themselves globs). No wildcard crosses a `.`. Every index filters with
these matchers, so all indexes answer the same sets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

SPECIAL = frozenset("*?[{")


@dataclass(frozen=True, slots=True)
class NodePattern:
    """One node of a glob: a finite set of literal names, or a regex when it has wildcards."""

    text: str
    literals: frozenset[str] | None
    regex: re.Pattern[str] | None

    def matches(self, name: str) -> bool:
        if self.literals is not None:
            return name in self.literals
        assert self.regex is not None
        return self.regex.fullmatch(name) is not None

    @property
    def prefix(self) -> str:
        """The literal characters before the first wildcard, for narrowing a backend query."""
        if self.literals is not None and len(self.literals) == 1:
            return next(iter(self.literals))
        for position, char in enumerate(self.text):
            if char in SPECIAL:
                return self.text[:position]
        return self.text


def split(pattern: str) -> list[str]:
    """The nodes of a path or pattern."""
    return pattern.split(".")


def has_wildcard(text: str) -> bool:
    return any(char in SPECIAL for char in text)


@lru_cache(maxsize=4096)
def compile_node(text: str) -> NodePattern:
    """Compile one node of a glob."""
    if not has_wildcard(text):
        return NodePattern(text, frozenset((text,)), None)
    alternatives = _literal_alternatives(text)
    if alternatives is not None:
        return NodePattern(text, frozenset(alternatives), None)
    return NodePattern(text, None, re.compile(_translate(text), re.DOTALL))


def compile_pattern(pattern: str) -> tuple[NodePattern, ...]:
    """Compile every node of a glob."""
    return tuple(compile_node(node) for node in split(pattern))


def matches(patterns: Sequence[NodePattern], path: str) -> bool:
    """Whether `path` has as many nodes as the glob and each node matches."""
    nodes = split(path)
    return len(nodes) == len(patterns) and all(
        pattern.matches(node) for pattern, node in zip(patterns, nodes, strict=True)
    )


def _literal_alternatives(text: str) -> list[str] | None:
    """`a{b,c}d` → `[abd, acd]` when braces are the only special characters, else None."""
    if any(char in "*?[" for char in text):
        return None
    results = [""]
    position = 0
    while position < len(text):
        char = text[position]
        close = text.find("}", position) if char == "{" else -1
        if char == "{" and close != -1 and "{" not in text[position + 1 : close]:
            options = text[position + 1 : close].split(",")
            results = [done + option for done in results for option in options]
            position = close + 1
        else:
            results = [done + char for done in results]
            position += 1
    return results


def _translate(text: str) -> str:
    """The regex for one glob node (braces hold globs without braces)."""
    out: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        position += 1
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            close = _class_end(text, position)
            if close == -1:
                out.append(re.escape(char))
            else:
                body = text[position:close]
                negate = body.startswith("!")
                body = body[1:] if negate else body
                out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
                position = close + 1
        elif char == "{":
            close = text.find("}", position)
            if close == -1 or "{" in text[position:close]:
                out.append(re.escape(char))
            else:
                options = text[position:close].split(",")
                out.append("(?:" + "|".join(_translate(option) for option in options) + ")")
                position = close + 1
        else:
            out.append(re.escape(char))
    return "".join(out)


def _class_end(text: str, start: int) -> int:
    """Index of the `]` closing a class opened just before `start`, or -1."""
    position = start
    if position < len(text) and text[position] == "!":
        position += 1
    if position < len(text) and text[position] == "]":
        position += 1
    return text.find("]", position)
