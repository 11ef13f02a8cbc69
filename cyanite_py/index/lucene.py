"""Graphite glob nodes as Lucene regular expressions, so Elasticsearch narrows a glob by
every node's wildcards, not only by its literal prefix.

The translation may match more than the glob (an odd character class becomes any one
character) but never less: the index filters the hits with the glob's own matchers after.
A node it cannot translate faithfully (nested braces) gives None, and the query falls
back to the node's literal prefix.
"""

from __future__ import annotations

_RESERVED = frozenset('.?+*|{}[]()"\\#@&<>~')
_CLASS_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def node_regexp(text: str) -> str | None:
    """A Lucene regexp (flags NONE) that every name matching glob node `text` matches."""
    out: list[str] = []
    in_braces = False
    position = 0
    while position < len(text):
        char = text[position]
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[" and text.find("]", position + 1) != -1:
            close = text.index("]", position + 1)
            out.append(_char_class(text[position + 1 : close]))
            position = close
        elif char == "{" and not in_braces and text.find("}", position + 1) != -1:
            in_braces = True
            out.append("(")
        elif char == "{" and in_braces:
            return None
        elif char == "," and in_braces:
            out.append("|")
        elif char == "}" and in_braces:
            in_braces = False
            out.append(")")
        else:
            out.append("\\" + char if char in _RESERVED else char)
        position += 1
    return "".join(out)


def _char_class(body: str) -> str:
    """`[a-z]`, `[!a-z]` as Lucene writes them; any one character for anything else."""
    negate = body.startswith("!")
    if negate:
        body = body[1:]
    if not body or not _valid_class(body):
        return "."
    return f"[{'^' if negate else ''}{body}]"


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
