"""Glob nodes as Lucene regular expressions: never narrower than the glob, exact where
they can be, and None where they cannot be written."""

from __future__ import annotations

import re

import pytest

from cyanite_py.index.glob import compile_node
from cyanite_py.index.lucene import node_regexp

NAMES = [
    "web01", "web02", "web10", "web1", "db01", "a.b", "x*y", "cpu_user", "C3", "über",
    "q?", "{a}", "[x]", "w#1", "", "ab", "ba", "abc",
]  # fmt: skip
GLOBS = [
    "*", "web*", "web0?", "web[0-1]*", "web[!0]?", "{web,db}0*", "*0{1,2}", "x\\*y", "q?",
    "[a-c]*", "[z-a]*", "[%]*", "{a}", "w#*", "{ab,ba}", "a{b,c", "*[0-9]", "{a*,b?}",
]  # fmt: skip


@pytest.mark.parametrize("glob", GLOBS)
def test_a_regexp_matches_every_name_its_glob_matches(glob: str) -> None:
    regexp = node_regexp(glob)
    assert regexp is not None
    # Lucene's core syntax (flags NONE) reads as Python's here: `.`, `*`, `|`, `()`, `[^]`.
    pattern = re.compile(regexp, re.DOTALL)
    node = compile_node(glob)
    for name in NAMES:
        if node.matches(name):
            assert pattern.fullmatch(name), (glob, regexp, name)


def test_plain_globs_are_exact() -> None:
    assert node_regexp("web*") == "web.*"
    assert node_regexp("host2[!0-3]*") == "host2[^0-3].*"
    assert node_regexp("group{1,2}") == "group(1|2)"
    assert node_regexp("metric0?") == "metric0."
    assert node_regexp("a.b+c") == "a\\.b\\+c"


def test_odd_classes_widen_and_nested_braces_give_up() -> None:
    assert node_regexp("x[z-a]") == "x."
    assert node_regexp("x[%]") == "x."
    assert node_regexp("{a,{b,c}}") is None
