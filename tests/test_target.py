"""The target grammar: calls, literals, paths with graphite's characters, and errors."""

from __future__ import annotations

import pytest

from cyanite_py.api.target import Call, Path, parse, path_expressions


def test_plain_path() -> None:
    assert parse("servers.web-01.cpu_user") == Path("servers.web-01.cpu_user")


@pytest.mark.parametrize(
    "text",
    [
        "a.*.c",
        "a.b?.c",
        "a.{b,c}.d",
        "a.{b,c}x.{d,e}",
        "a.[0-9].c",
        "a.[!x]y.c",
        "host:8080.metric@1#2",
        "a.b$c%d&e!f~g^h<i>j;k+l-m_n`o",
    ],
)
def test_paths_with_globs_and_graphite_characters(text: str) -> None:
    assert parse(text) == Path(text)


def test_nested_calls_with_literals() -> None:
    tree = parse("sumSeries(scale(a.*, 2.5), b.{x,y})")
    assert tree == Call(
        "sumSeries",
        (Call("scale", (Path("a.*"), 2.5), {}, 10), Path("b.{x,y}")),
        {},
        0,
    )


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("1", 1),
        ("-3", -3),
        ("0.25", 0.25),
        ("-1.5", -1.5),
        ("1e3", 1000.0),
        ("2.5E-2", 0.025),
        ("true", True),
        ("False", False),
        ("None", None),
        ("'single'", "single"),
        ('"double"', "double"),
        ("'it''s'", None),
    ],
)
def test_literal_arguments(argument: str, value: object) -> None:
    if argument == "'it''s'":
        with pytest.raises(ValueError, match=r"expected '\)'"):
            parse(f"f(a, {argument})")
        return
    tree = parse(f"f(a.b, {argument})")
    assert isinstance(tree, Call)
    assert tree.args[1] == value
    assert type(tree.args[1]) is type(value)


def test_strings_keep_backslashes_and_other_quotes() -> None:
    tree = parse("aliasSub(a.b, '(^.*$)', '\\1 A')")
    assert isinstance(tree, Call)
    assert tree.args[1:] == ("(^.*$)", "\\1 A")
    tree = parse("""alias(a, "it's \\"quoted\\"")""")
    assert isinstance(tree, Call)
    assert tree.args[1] == 'it\'s \\"quoted\\"'


def test_keyword_arguments() -> None:
    tree = parse("summarize(a.b, '1h', func='max', alignToFrom=true)")
    assert tree == Call("summarize", (Path("a.b"), "1h"), {"func": "max", "alignToFrom": True})


def test_numbers_only_before_a_comma_or_parenthesis() -> None:
    tree = parse("sumSeries(1h.x, 10.cpu)")
    assert isinstance(tree, Call)
    assert tree.args == (Path("1h.x"), Path("10.cpu"))


def test_pipes_become_the_first_argument() -> None:
    assert parse("a.*|scale(2)|alias('x')") == Call(
        "alias", (Call("scale", (Path("a.*"), 2), {}, 4), "x"), {}, 13
    )


def test_spaces_between_tokens() -> None:
    assert parse(" sumSeries( a.b , c.d ) ") == Call("sumSeries", (Path("a.b"), Path("c.d")))


def test_no_arguments() -> None:
    assert parse("countSeries()") == Call("countSeries")


def test_path_expressions_in_order() -> None:
    tree = parse("asPercent(sum(a.*), b.c, 0)")
    assert path_expressions(tree) == ["a.*", "b.c"]


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("sumSeries(a.b", 13),
        ("sumSeries(a.b))", 14),
        ("f(a, 'open)", 5),
        ("f(x=1, a.b)", 7),
        ("a..b", 0),
        ("", 0),
        ("f(a.{b,c)", 8),
        ("'quoted'", 0),
        ("a.b|", 4),
    ],
)
def test_syntax_errors_name_their_position(text: str, position: int) -> None:
    with pytest.raises(ValueError, match=f"position {position}"):
        parse(text)


def test_deep_nesting_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="nested deeper than 100"):
        parse("f(" * 2000 + "a" + ")" * 2000)


def test_pipes_count_toward_the_depth_limit() -> None:
    """Each pipe wraps the tree once more, as deep as a nested call."""
    assert isinstance(parse("a" + "|absolute()" * 50), Call)
    with pytest.raises(ValueError, match="nested deeper than 100"):
        parse("a" + "|absolute()" * 3000)
    with pytest.raises(ValueError, match="nested deeper than 100"):
        parse("sumSeries(" * 60 + "a" + "|absolute()" * 60 + ")" * 60)
