"""Glob nodes as Lucene regular expressions: never narrower than the glob, exactly as wide
where they say they are exact."""

from __future__ import annotations

import re

import pytest

from cyanite_py.index.glob import compile_node
from cyanite_py.index.lucene import NodeRegexp, node_regexp

NAMES = [
    "web01", "web02", "web10", "web1", "db01", "a.b", "x*y", "x\\ay", "cpu_user", "C3", "über",
    "q?", "{a}", "[x]", "w#1", "", "ab", "ba", "abc", "a", "]", "a]", "{a", "{a,b}", "xb}", "x",
    "%", "%x", "a,b", "web0",
]  # fmt: skip
GLOBS = [
    "*", "web*", "web0?", "web[0-1]*", "web[!0]?", "{web,db}0*", "*0{1,2}", "x\\*y", "q?",
    "[a-c]*", "[z-a]*", "[%]*", "{a}", "w#*", "{ab,ba}", "a{b,c", "*[0-9]", "{a*,b?}",
    "[]a]", "[!]a]*", "{a,}*", "{,a}", "{a,{b,c}}", "{[a,b]}", "x{a,b}}", "web[0-1", "[!%]*",
    "{web,db}[0-9]*", "a,b", "*]",
]  # fmt: skip


def python_pattern(regexp: NodeRegexp) -> re.Pattern[str]:
    """Lucene's core syntax (flags NONE) reads as Python's for what the translation writes:
    `.`, `*`, `|`, `()`, `[^]` and `\\` before a reserved character."""
    return re.compile(regexp.value, re.DOTALL)


@pytest.mark.parametrize("glob", GLOBS)
def test_a_regexp_matches_every_name_its_glob_matches(glob: str) -> None:
    regexp = node_regexp(glob)
    pattern = python_pattern(regexp)
    node = compile_node(glob)
    for name in NAMES:
        if node.matches(name):
            assert pattern.fullmatch(name), (glob, regexp, name)


@pytest.mark.parametrize("glob", [glob for glob in GLOBS if node_regexp(glob).exact])
def test_an_exact_regexp_matches_only_what_its_glob_matches(glob: str) -> None:
    regexp = node_regexp(glob)
    pattern = python_pattern(regexp)
    node = compile_node(glob)
    for name in NAMES:
        assert bool(pattern.fullmatch(name)) == node.matches(name), (glob, regexp, name)


def test_plain_globs_are_exact() -> None:
    assert node_regexp("web*") == NodeRegexp("web.*", exact=True)
    assert node_regexp("host2[!0-3]*") == NodeRegexp("host2[^0-3].*", exact=True)
    assert node_regexp("group{1,2}") == NodeRegexp("group(1|2)", exact=True)
    assert node_regexp("metric0?") == NodeRegexp("metric0.", exact=True)
    assert node_regexp("a.b+c") == NodeRegexp("a\\.b\\+c", exact=True)


def test_odd_classes_widen() -> None:
    assert node_regexp("x[z-a]") == NodeRegexp("x.", exact=False)
    assert node_regexp("x[%]") == NodeRegexp("x.", exact=False)
    assert node_regexp("{a,x[%]}") == NodeRegexp("(a|x.)", exact=False)


def test_braces_and_classes_are_read_as_the_glob_reads_them() -> None:
    assert node_regexp("{a,}*").value == "(a|()).*"
    assert node_regexp("{a,{b,c}}").value == "\\{a,(b|c)\\}"
    assert node_regexp("[]a]") == NodeRegexp(".", exact=False)
    assert node_regexp("web[0-1") == NodeRegexp("web\\[0-1", exact=True)
    assert node_regexp("{[a,b]}").value == "(\\[a|b\\])"
