"""Graphite glob semantics, one node at a time."""

import pytest

from cyanite_py.index.glob import compile_node, compile_pattern, matches


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("a.b.c", "a.b.c", True),
        ("a.*.c", "a.xyz.c", True),
        ("a.*.c", "a.x.y.c", False),
        ("a.*", "a.b.c", False),
        ("*", "a", True),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("host[0-9]", "host7", True),
        ("host[0-9]", "hostx", False),
        ("host[!0-9]", "hostx", True),
        ("host[!0-9]", "host7", False),
        ("{web,db}01", "db01", True),
        ("{web,db}01", "app01", False),
        ("{web*,db}", "webserver", True),
        ("cpu.{user,system}", "cpu.system", True),
        ("a*b*c", "aXbYc", True),
        ("a*b*c", "aXbY", False),
        ("x.[ab]*.y", "x.b1.y", True),
        ("odd[", "odd[", True),
        ("br{ace", "br{ace", True),
        ("a+b", "a+b", True),
        ("a(b)", "a(b)", True),
        ("ünï.*", "ünï.cödé", True),
    ],
)
def test_matches(pattern: str, path: str, expected: bool) -> None:
    assert matches(compile_pattern(pattern), path) is expected


def test_literal_nodes_are_lookups_not_regexes() -> None:
    assert compile_node("cpu").literals == frozenset({"cpu"})
    assert compile_node("{a,b}x").literals == frozenset({"ax", "bx"})
    assert compile_node("c*").literals is None


def test_prefix_is_the_text_before_the_first_wildcard() -> None:
    assert compile_node("web*").prefix == "web"
    assert compile_node("*").prefix == ""
    assert compile_node("db").prefix == "db"
