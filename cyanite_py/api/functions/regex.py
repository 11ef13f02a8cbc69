"""User regular expressions (aliasSub, grep, exclude) on RE2, whose matching is linear.

Python's `re` backtracks: `(a+)+$` against a long name takes seconds per series. RE2
takes the same syntax less backreferences and look-arounds, which it refuses with a 400.
"""

from __future__ import annotations

from typing import Protocol, cast

import re2

from cyanite_py.api.functions.series import InputError

_MEMORY = 16 * 1024 * 1024
MAX_PATTERN = 4096


class Regex(Protocol):
    def search(self, text: str) -> object: ...

    def sub(self, replacement: str, text: str) -> str: ...


def compile_regex(pattern: str, function: str) -> Regex:
    """`pattern` compiled for `function`, or an InputError saying why it cannot be."""
    if len(pattern) > MAX_PATTERN:
        raise InputError(f"{function}: regular expression longer than {MAX_PATTERN} characters")
    options = re2.Options()
    options.log_errors = False
    options.max_mem = _MEMORY
    try:
        return cast(Regex, re2.compile(pattern, options))
    except (re2.error, UnicodeEncodeError) as error:
        reason = _text(error)
        raise InputError(f"{function}: invalid regular expression {pattern!r}: {reason}") from None


def _text(error: Exception) -> str:
    reason = error.args[0] if error.args else error
    return reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
