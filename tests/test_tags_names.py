"""Tagged names and tag expressions, read as Graphite (carbon 1.1.10, graphite-web 1.1.10)
reads them."""

from __future__ import annotations

import re

import pytest

from cyanite_py.tags import (
    TagError,
    TagExpression,
    TagFilter,
    TagQuery,
    is_tagged,
    normalise,
    parse_tags,
    series_tags,
)


@pytest.mark.parametrize(
    ("raw", "spelled"),
    [
        ("cpu;host=web01;dc=eu", "cpu;dc=eu;host=web01"),
        ("cpu;dc=eu;host=web01", "cpu;dc=eu;host=web01"),
        (
            "disk.used;mount=/var;host=web01.example.com",
            "disk.used;host=web01.example.com;mount=/var",
        ),
        ("cpu;a=1;a-b=2", "cpu;a-b=2;a=1"),  # sorted as text: "-" comes before "="
        ("cpu;b=1;a=2;b=3", "cpu;a=2;b=3"),  # a tag given twice keeps its last value
        ("cpu;kind=a=b", "cpu;kind=a=b"),
        ("~~cpu;a=b", "cpu;a=b"),
        ("cpu;x=caf\u00e9", "cpu;x=caf\u00e9"),
        ("a..b;x=y", "a..b;x=y"),  # a tagged name keeps its dots as they are
        ('cpu{host="web01",dc="eu"}', "cpu;dc=eu;host=web01"),
        ('cpu{a="say \\"hi\\"",b="back\\\\slash"}', 'cpu;a=say "hi";b=back\\slash'),
        ('cpu{a="x":,b="y"}', "cpu;a=x;b=y"),
        ('cpu{a="b"}', "cpu;a=b"),
    ],
)
def test_tagged_names_are_spelled_as_graphite_spells_them(raw: str, spelled: str) -> None:
    assert is_tagged(raw)
    assert normalise(raw) == spelled
    assert normalise(spelled) == spelled


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("cpu;host", "is not tag=value"),
        ("cpu;=web01", "is not tag=value"),
        ("cpu;host=", "may not be empty"),
        ("cpu;ho!st=a", "'!' is not allowed"),
        ("cpu;ho^st=a", "'^' is not allowed"),
        ("cpu;host=~a", "may not start with '~'"),
        (";host=a", "no name"),
        ("~~;host=a", "empty without its leading '~'"),
        ("cpu;a=b;", "is not tag=value"),
        ('cpu{a=b,c="d"}', 'is not tag="value"'),
        ('{a="b"}', "no name"),
        ('cpu{x{a="b"}', "more than one '{'"),
        ('cpu{a=""}', 'is not tag="value"'),
        ('cpu{a="~b"}', "may not start with '~'"),
    ],
)
def test_names_graphite_refuses_say_why(raw: str, reason: str) -> None:
    with pytest.raises(TagError, match=re.escape(reason)):
        normalise(raw)


def test_plain_paths_are_not_tagged() -> None:
    for path in ["a.b.c", "a{b,c}.d", "host.web-01", 'quoted"}', "x=y", 'cpu{a="b"']:
        assert not is_tagged(path)


def test_tags_include_the_name() -> None:
    assert parse_tags("disk.used;host=web01;dc=eu") == {
        "name": "disk.used",
        "host": "web01",
        "dc": "eu",
    }


@pytest.mark.parametrize(
    ("name", "tags"),
    [
        ("cpu;dc=eu;host=web01", {"name": "cpu", "dc": "eu", "host": "web01"}),
        ("a.b.c", {"name": "a.b.c"}),
        ("~a.b", {"name": "a.b"}),
        ("sumSeries(cpu;dc=eu)", {"name": "sumSeries(cpu;dc=eu)"}),
        ("f(x);dc=eu", {"name": "f(x)", "dc": "eu"}),  # not a call's name: it ends otherwise
        ("cpu;broken", {"name": "cpu;broken"}),
        ("42.0", {"name": "42.0"}),
    ],
)
def test_a_rendered_series_carries_the_tags_of_its_name(name: str, tags: dict[str, str]) -> None:
    assert series_tags(name) == tags


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("name=cpu", ("name", "=", "cpu")),
        ("dc!=eu", ("dc", "!=", "eu")),
        ("host=~web.*", ("host", "=~", "web.*")),
        ("host!=~db", ("host", "!=~", "db")),
        ("a==b", ("a", "=", "=b")),
        ("a=~~b", ("a", "=~", "~b")),
        ("dc=", ("dc", "=", "")),
        ("d c=e f", ("d c", "=", "e f")),
    ],
)
def test_tag_expressions_are_read_as_graphite_web_reads_them(
    text: str, parts: tuple[str, str, str]
) -> None:
    expression = TagExpression.parse(text)
    assert (expression.tag, expression.operator, expression.value) == parts
    assert str(expression) == text


@pytest.mark.parametrize("text", ["", "=b", "name", "a;b=c", "a=b;c", "a!b=c", "a~b"])
def test_malformed_tag_expressions_are_refused(text: str) -> None:
    with pytest.raises(TagError, match="invalid tag expression"):
        TagExpression.parse(text)


@pytest.mark.parametrize(
    ("text", "meets", "fails"),
    [
        ("dc=eu", ["eu"], ["", "eu2", "EU"]),
        ("dc=", [""], ["eu"]),
        ("dc!=eu", ["", "us", "eu2"], ["eu"]),
        ("dc!=", ["eu"], [""]),
        ("host=~web", ["web", "web01"], ["", "aweb", "Web"]),  # anchored at the start only
        ("host=~web0[12]$", ["web01", "web02"], ["web010", "web03"]),
        ("host=~^db|web", ["db1", "web1"], ["xweb"]),
        ("host=~a)|(b", ["a", "b1"], ["c"]),  # graphite-web wraps it: ^(a)|(b)
        ("host=~.*", ["", "x"], []),
        ("host!=~web", ["", "db"], ["web01"]),
        ("host!=~.*", [], ["", "x"]),
        ("host=~caf\u00e9", ["caf\u00e9s"], ["cafe"]),
    ],
)
def test_expressions_match_values_as_graphite_web_does(
    text: str, meets: list[str], fails: list[str]
) -> None:
    expression = TagExpression.parse(text)
    assert [value for value in meets if expression.matches(value)] == meets
    assert [value for value in fails if not expression.matches(value)] == fails
    assert expression.matches_empty == expression.matches("")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("host=~(web", "missing \\)"),
        ("host=~(a)\\1", "invalid escape sequence"),
        ("host=~(?=a)", "invalid perl operator"),
        ("host=~" + "a" * 5000, "longer than 4096"),
    ],
)
def test_regular_expressions_re2_cannot_run_are_refused(text: str, reason: str) -> None:
    with pytest.raises(TagError, match=reason):
        TagExpression.parse(text)


def test_a_query_needs_an_expression_a_series_must_hold_a_tag_for() -> None:
    with pytest.raises(TagError, match="no tag expressions"):
        TagQuery.parse([])
    for texts in (["dc!=eu"], ["dc="], ["host=~.*", "dc!=~x"]):
        with pytest.raises(TagError, match="at least one tag expression"):
            TagQuery.parse(texts)
    query = TagQuery.parse(["dc!=eu"], TagExpression.has("host"))
    assert [str(e) for e in query.required] == ["host!="]
    assert query.tags == {"dc", "host"}
    assert str(query) == "'dc!=eu', 'host!='"


def test_a_query_meets_series_whose_tags_meet_every_expression() -> None:
    query = TagQuery.parse(["name=cpu", "host=~web", "dc!=eu", "x!=~y"])
    assert query.matches({"name": "cpu", "host": "web01"})
    assert query.matches({"name": "cpu", "host": "web01", "dc": "us", "x": "z"})
    assert not query.matches({"name": "cpu", "host": "web01", "dc": "eu"})
    assert not query.matches({"name": "cpu", "host": "web01", "x": "yes"})
    assert not query.matches({"name": "cpu"})


def test_filters_match_from_the_start() -> None:
    assert TagFilter("o").matches("os")
    assert not TagFilter("o").matches("host")
    assert TagFilter(".*o").matches("host")
    assert TagFilter("^h|d").matches("dc")
    with pytest.raises(TagError, match="invalid regular expression"):
        TagFilter("[")
