"""Graphite glob semantics, one node at a time."""

import pytest

from cyanite_py.index.glob import _Cache, compile_node, compile_pattern, count_alternatives, matches


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


def test_reversed_ranges_match_nothing_as_in_fnmatch() -> None:
    assert not compile_node("[z-a]").matches("a")
    assert compile_node("[!z-a]").matches("q")
    assert compile_node("x[z-ab]").matches("xb")


def test_many_stars_over_a_long_name_match_in_linear_time() -> None:
    """Cubic for a backtracking matcher: minutes for 16 KiB; microseconds here."""
    pattern = compile_node("*a*a*b")
    assert not pattern.matches("a" * 16_384)
    assert pattern.matches("a" * 16_384 + "b")
    assert compile_node("{x*,y}*z*").matches("x" * 16_384 + "z")


def test_alternatives_are_counted_without_being_spelled_out() -> None:
    assert count_alternatives("a.{b,c}{d,e,f}.{1,2}") == 1 + 6 + 2
    assert count_alternatives("{a,b}" * 60, stop=1000) > 1000
    big = compile_node("{" + ",".join(f"n{i}" for i in range(5000)) + "}")
    assert big.literals is None
    assert big.matches("n4999")
    assert not big.matches("n5000")


def test_the_cache_keeps_to_its_budget() -> None:
    cache = _Cache(max_bytes=256 * 1024)
    for index in range(200):
        text = "{" + ",".join(f"{index}x{i}" for i in range(40)) + "}"
        cache.put(text, compile_node(text))
    assert cache.used <= cache.max_bytes
    assert cache.get("{" + ",".join(f"199x{i}" for i in range(40)) + "}") is not None
    assert cache.get("{" + ",".join(f"0x{i}" for i in range(40)) + "}") is None
