"""Graphite glob nodes as Lucene regular expressions, so Elasticsearch narrows a glob by
every node's wildcards, not only by its literal prefix.

The translation reads a node as `cyanite_py.index.glob` does (the same classes, the same
braces) and says whether it is exact: it is, unless a character class holds something
other than letters, digits, `_` and ranges of them, which becomes any one character. An
exact regexp matches the very names the glob node matches, so the index can take
Elasticsearch's hits as they are; an inexact one matches more, and the hits are filtered
with the glob's own matchers.
"""

from __future__ import annotations

from dataclasses import dataclass

_RESERVED = frozenset('.?+*|{}[]()"\\#@&<>~')
_CLASS_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_EMPTY = "()"
"""Lucene's spelling of the empty string, for an empty brace alternative (`{a,}`)."""


@dataclass(frozen=True, slots=True)
class NodeRegexp:
    """A Lucene regexp (flags NONE) for one glob node; `exact` when it matches no more
    names than the glob node does."""

    value: str
    exact: bool


def node_regexp(text: str) -> NodeRegexp:
    """The Lucene regexp that every name matching glob node `text` matches."""
    return NodeRegexp(*_translate(text))


def _translate(text: str) -> tuple[str, bool]:
    out: list[str] = []
    exact = True
    position = 0
    while position < len(text):
        char = text[position]
        position += 1
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[" and (close := _class_end(text, position)) != -1:
            regexp, faithful = _char_class(text[position:close])
            out.append(regexp)
            exact = exact and faithful
            position = close + 1
        elif char == "{" and (close := text.find("}", position)) != -1:
            if "{" in text[position:close]:
                out.append("\\{")  # glob.py reads an opening brace before a nested one as text
                continue
            options = [_translate(option) for option in text[position:close].split(",")]
            out.append("(" + "|".join(regexp or _EMPTY for regexp, _ in options) + ")")
            exact = exact and all(faithful for _, faithful in options)
            position = close + 1
        else:
            out.append("\\" + char if char in _RESERVED else char)
    return "".join(out), exact


def _class_end(text: str, start: int) -> int:
    """Where the `]` closing a class opened just before `start` is, or -1, as glob.py
    finds it: a `]` right after `[` or `[!` belongs to the class."""
    position = start
    if position < len(text) and text[position] == "!":
        position += 1
    if position < len(text) and text[position] == "]":
        position += 1
    return text.find("]", position)


def _char_class(body: str) -> tuple[str, bool]:
    """`[a-z]`, `[!a-z]` as Lucene writes them (exact); any one character for anything else."""
    negate = body.startswith("!")
    if negate:
        body = body[1:]
    if not body or not _valid_class(body):
        return ".", False
    return f"[{'^' if negate else ''}{body}]", True


def _valid_class(body: str) -> bool:
    """Letters, digits and `_`, and ranges of them in order."""
    position = 0
    while position < len(body):
        if body[position] not in _CLASS_CHARS:
            return False
        if position + 2 < len(body) and body[position + 1] == "-":
            if body[position + 2] not in _CLASS_CHARS or body[position + 2] < body[position]:
                return False
            position += 3
        else:
            position += 1
    return True
