"""Regular expressions from users (aliasSub, grep, seriesByTag, /tags filters) on RE2,
whose matching takes time linear in the text.

Python's `re` backtracks: `(a+)+$` against a long name takes seconds per series. RE2 takes
the same syntax less backreferences and look-arounds, which it refuses with a reason.
"""

from __future__ import annotations

from typing import Protocol, cast

import re2

MAX_PATTERN = 4096
"""Characters a regular expression may hold."""
_MEMORY = 16 * 1024 * 1024
"""Bytes RE2 may take to compile one expression."""


class Regex(Protocol):
    def match(self, text: str) -> object: ...

    def search(self, text: str) -> object: ...

    def sub(self, replacement: str, text: str) -> str: ...


class RegexError(ValueError):
    """A pattern too long, or one RE2 cannot compile; the message says why."""


def compile_linear(pattern: str, *, anchored: bool = False) -> Regex:
    """`pattern` compiled on RE2, or a RegexError saying why it cannot be. `anchored`
    matches it from the start of a text only, wrapped as `^(pattern)` unless it starts
    with `^`, as graphite-web anchors tag expressions."""
    if len(pattern) > MAX_PATTERN:
        raise RegexError(f"regular expression longer than {MAX_PATTERN} characters")
    options = re2.Options()
    options.log_errors = False
    options.max_mem = _MEMORY
    compiled = f"^({pattern})" if anchored and not pattern.startswith("^") else pattern
    try:
        return cast(Regex, re2.compile(compiled, options))
    except (re2.error, UnicodeEncodeError) as error:
        reason = error.args[0] if error.args else error
        shown = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        raise RegexError(f"invalid regular expression {pattern[:200]!r}: {shown}") from None
