"""The series functions' regular expressions (aliasSub, aliasQuery, grep, exclude,
useSeriesAbove), on RE2 so that matching is linear; a bad one is the caller's 400."""

from __future__ import annotations

from cyanite_py.api.functions.series import InputError
from cyanite_py.linear_regex import Regex, RegexError, compile_linear


def compile_regex(pattern: str, function: str) -> Regex:
    """`pattern` compiled for `function`, or an InputError saying why it cannot be."""
    try:
        return compile_linear(pattern)
    except RegexError as error:
        raise InputError(f"{function}: {error}") from None
