"""Graphite glob semantics, one path node at a time, matched in linear time.

A pattern is split on `.`; each node may hold `*` (any run of characters), `?` (one
character), `[a-z]` and `[!a-z]` (a character class and its negation; a reversed range
matches nothing, as in fnmatch) and `{a,b}` (alternatives, themselves globs). No
wildcard crosses a `.`. Every index filters with these matchers, so all indexes answer
the same sets.

Matching never backtracks without bound: a node with at most one `*` is a regex whose
backtracking is linear in the name, and any other goes to RE2, whose cost is linear by
construction, so `*a*a*b` against a 16 KiB name costs microseconds, not minutes.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import re2

SPECIAL = frozenset("*?[{")
MAX_LITERALS = 1024
"""A brace-only node with more alternatives than this is a regex, not a set of names."""
CACHE_BYTES = 32 * 1024 * 1024
"""About how much memory compiled nodes may keep between queries."""
_RE2_MEMORY = 64 * 1024 * 1024
_ANY = "(?s:.)"
_NOTHING = r"[^\x{0}-\x{10FFFF}]"


class GlobError(ValueError):
    """A glob that cannot be matched as written (too large for the matcher)."""


class TooManyMatches(GlobError):
    """A glob matched more nodes than the index's `max_matches`: the API answers 400."""


class Matcher(Protocol):
    def fullmatch(self, text: str) -> object: ...


@dataclass(frozen=True, slots=True)
class NodePattern:
    """One node of a glob: a set of literal names, everything (`*`), or a matcher."""

    text: str
    literals: frozenset[str] | None
    regex: Matcher | None

    def matches(self, name: str) -> bool:
        if self.literals is not None:
            return name in self.literals
        if self.regex is None:
            return True
        try:
            return self.regex.fullmatch(name) is not None
        except UnicodeEncodeError:  # a lone surrogate RE2 cannot encode is no path name
            return False

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


def count_alternatives(pattern: str, stop: int = 2**62) -> int:
    """How many names the braces of every node spell out, summed over nodes, counted
    without spelling them out; counting ends once the total passes `stop`."""
    total = 0
    for node in split(pattern):
        product = 1
        for options in _brace_groups(node):
            product = min(product * len(options), stop + 1)
        total += product
        if total > stop:
            return total
    return total


class _Cache:
    """Compiled nodes, least recently used dropped first once over a budget of bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self._entries: OrderedDict[str, tuple[NodePattern, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> NodePattern | None:
        with self._lock:
            entry = self._entries.get(text)
            if entry is None:
                return None
            self._entries.move_to_end(text)
            return entry[0]

    def put(self, text: str, pattern: NodePattern) -> None:
        cost = _cost(pattern)
        if cost > self.max_bytes // 16:
            return
        with self._lock:
            if text in self._entries:
                return
            self._entries[text] = (pattern, cost)
            self.used += cost
            while self.used > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.used -= dropped


def _cost(pattern: NodePattern) -> int:
    """A rough size in bytes: the text, each literal name, and a compiled matcher."""
    names = pattern.literals or ()
    return 200 + 2 * len(pattern.text) + sum(80 + len(name) for name in names)


CACHE = _Cache(CACHE_BYTES)


def compile_node(text: str) -> NodePattern:
    """Compile one node of a glob (cached)."""
    found = CACHE.get(text)
    if found is None:
        found = _compile(text)
        CACHE.put(text, found)
    return found


def compile_pattern(pattern: str) -> tuple[NodePattern, ...]:
    """Compile every node of a glob."""
    return tuple(compile_node(node) for node in split(pattern))


def matches(patterns: Sequence[NodePattern], path: str) -> bool:
    """Whether `path` has as many nodes as the glob and each node matches."""
    nodes = split(path)
    return len(nodes) == len(patterns) and all(
        pattern.matches(node) for pattern, node in zip(patterns, nodes, strict=True)
    )


def _compile(text: str) -> NodePattern:
    if not has_wildcard(text):
        return NodePattern(text, frozenset((text,)), None)
    if text == "*":
        return NodePattern(text, None, None)
    if not any(char in "*?[" for char in text) and count_alternatives(text) <= MAX_LITERALS:
        return NodePattern(text, frozenset(_literal_alternatives(text)), None)
    if text.count("*") <= 1:
        # One `*` can only backtrack once over the name: linear, and faster than RE2.
        return NodePattern(text, None, re.compile(_translate(text, _python_escape), re.DOTALL))
    options = re2.Options()
    options.dot_nl = True
    options.log_errors = False
    options.max_mem = _RE2_MEMORY
    try:
        return NodePattern(text, None, re2.compile(_translate(text, _re2_escape), options))
    except re2.error as error:
        raise GlobError(f"glob node {text[:100]!r} is too large to match: {error}") from None


def _brace_groups(text: str) -> list[list[str]]:
    """The options of each `{…}` in a node (a `{` without its `}` is a literal)."""
    groups = []
    position = text.find("{")
    while position != -1:
        close = text.find("}", position + 1)
        if close == -1:
            break
        inner = text.find("{", position + 1, close)
        if inner != -1:
            position = inner
            continue
        groups.append(text[position + 1 : close].split(","))
        position = text.find("{", close + 1)
    return groups


def _literal_alternatives(text: str) -> list[str]:
    """`a{b,c}d` → `[abd, acd]`; only called on nodes whose braces are their only globs."""
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


def _python_escape(char: str) -> str:
    return re.escape(char)


def _re2_escape(char: str) -> str:
    return char if char.isalnum() and char.isascii() else f"\\x{{{ord(char):x}}}"


def _translate(text: str, escape: _Escape) -> str:
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
                out.append(escape(char))
            else:
                out.append(_char_class(text[position:close], escape))
                position = close + 1
        elif char == "{":
            close = text.find("}", position)
            if close == -1 or "{" in text[position:close]:
                out.append(escape(char))
            else:
                options = text[position:close].split(",")
                out.append("(?:" + "|".join(_translate(o, escape) for o in options) + ")")
                position = close + 1
        else:
            out.append(escape(char))
    return "".join(out)


class _Escape(Protocol):
    def __call__(self, char: str) -> str: ...


def _char_class(body: str, escape: _Escape) -> str:
    """A class from its body (`a-z`, `!0-9`); reversed ranges are left out, as fnmatch does."""
    negate = body.startswith("!")
    body = body[1:] if negate else body
    parts: list[str] = []
    position = 0
    while position < len(body):
        if position + 2 < len(body) and body[position + 1] == "-":
            low, high = body[position], body[position + 2]
            if low <= high:
                parts.append(f"{escape(low)}-{escape(high)}")
            position += 3
        else:
            parts.append(escape(body[position]))
            position += 1
    if not parts:
        return _ANY if negate else (_NOTHING if escape is _re2_escape else "(?!)")
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


def _class_end(text: str, start: int) -> int:
    """Index of the `]` closing a class opened just before `start`, or -1."""
    position = start
    if position < len(text) and text[position] == "!":
        position += 1
    if position < len(text) and text[position] == "]":
        position += 1
    return text.find("]", position)
