"""What every path index answers about tagged paths, run against each one by subclassing
`TagIndexContract`.

A subclass's module provides the fixture `index`: a running, empty index. Every test adds
tagged (and untagged) paths, flushes, and compares each tag query with the answer a
brute-force pass over the paths gives, so all indexes are held to the same answers.
"""

from __future__ import annotations

from collections import Counter

from cyanite_py.index.base import Index, Node, TagValue
from cyanite_py.tags import TagExpression, TagFilter, TagQuery, normalise, parse_tags


def _series() -> list[str]:
    """Tagged paths in Graphite's spelling: a few names, hosts in two data centres (and
    some in none), an optional `os`, and values that need care."""
    paths = []
    for number in range(1, 13):
        host = f"web{number:02d}"
        dc = ("eu", "us", None)[number % 3]
        for name in ("cpu", "mem", "disk.used"):
            tags = {"name": name, "host": host}
            if dc is not None:
                tags["dc"] = dc
            if number % 4 == 0:
                tags["os"] = "linux" if number % 8 else "bsd"
            paths.append(normalise(";".join([name, *(f"{k}={v}" for k, v in tags.items())])))
    paths += [
        "cpu;dc=eu;host=db01",
        "cpu;dc=eu;host=db01.example.com",
        "cpu;host=caf\u00e9;zone=a b",
        "queue.depth;host=web01;kind=a=b",
        "temperature;room=a~b",
    ]
    return [normalise(path) if ";" in path else path for path in paths]


SERIES = _series()
UNTAGGED = ["servers.web01.cpu", "servers.web02.cpu", "cpu"]

QUERIES = [
    ["name=cpu"],
    ["name=cpu", "dc=eu"],
    ["name=cpu", "dc!=eu"],
    ["name=cpu", "dc="],
    ["dc!="],
    ["name=~c"],
    ["name=~pu"],
    ["name=~.*pu"],
    ["name=~^d.*d$"],
    ["name=~cpu|mem", "host=~web0[1-4]"],
    ["host=~web", "os!=~l"],
    ["host=~web", "os!=~"],
    ["host=~web", "os=~"],
    ["host!=~web", "name=cpu"],
    ["name=cpu", "host=db01.example.com"],
    ["host=caf\u00e9"],
    ["zone=a b"],
    ["kind=a=b"],
    ["room=~a\\~"],
    ["name=nothing"],
    ["nothing=~.*x"],
    ["name=cpu", "nothing="],
    ["name=cpu", "nothing!=x"],
    ["name!=cpu", "dc=us", "os=linux"],
]


def brute_force(paths: list[str], query: TagQuery) -> list[str]:
    return sorted(path for path in paths if ";" in path and query.matches(parse_tags(path)))


def every_tag(paths: list[str]) -> list[str]:
    return sorted({tag for path in paths if ";" in path for tag in parse_tags(path)})


def value_counts(paths: list[str], tag: str) -> list[TagValue]:
    counts = Counter(parse_tags(path).get(tag) for path in paths if ";" in path)
    return [TagValue(value, counts[value]) for value in sorted(v for v in counts if v)]


async def load(index: Index, paths: list[str]) -> None:
    index.add(paths)
    await index.flush()


class TagIndexContract:
    async def test_an_empty_index_knows_no_tags(self, index: Index) -> None:
        query = TagQuery.parse(["name=cpu"])
        assert await index.find_series(query, 10) == []
        assert await index.list_tags(None, 10) == []
        assert await index.list_values("name", None, 10) == []
        assert await index.autocomplete_tags(None, "", 10) == []
        assert await index.autocomplete_tags(query, "", 10) == []
        assert await index.autocomplete_values(None, "name", "", 10) == []

    async def test_globs_never_list_tagged_paths(self, index: Index) -> None:
        await load(index, SERIES + UNTAGGED)
        assert [node.path for node in await index.find("*")] == ["cpu", "servers"]
        assert [node.path for node in await index.find("*.*.*")] == UNTAGGED[:2]
        assert await index.find("cpu*") == [Node("cpu", leaf=True, branch=False)]

    async def test_a_tagged_path_is_found_when_spelled_exactly(self, index: Index) -> None:
        await load(index, SERIES)
        path = "disk.used;dc=us;host=web01"
        assert await index.find(path) == [Node(path, leaf=True, branch=False)]
        assert await index.find("disk.used;host=web01;dc=us") == []
        assert await index.find("disk.used;dc=us;host=web0*") == []
        assert await index.find("disk.used") == []

    async def test_a_path_graphite_cannot_read_as_tagged_stays_a_plain_path(
        self, index: Index
    ) -> None:
        await load(index, ["plain;no.tags", "plain;no.tags.more"])
        assert await index.find("plain;no.*") == [Node("plain;no.tags", leaf=True, branch=True)]
        assert await index.list_tags(None, 10) == []

    async def test_series_match_every_expression(self, index: Index) -> None:
        await load(index, SERIES + UNTAGGED)
        for texts in QUERIES:
            query = TagQuery.parse(texts)
            expected = brute_force(SERIES, query)
            assert await index.find_series(query, 10_000) == expected, texts

    async def test_the_semantics_the_brute_force_encodes(self, index: Index) -> None:
        """A few answers spelled out, so the reference itself is checked."""
        await load(index, SERIES)

        async def found(*texts: str) -> list[str]:
            return await index.find_series(TagQuery.parse(texts), 100)

        assert await found("name=cpu", "host=~web0[12]$") == [
            "cpu;dc=us;host=web01",
            "cpu;host=web02",
        ]
        assert await found("name=~pu") == []  # anchored at the start
        assert len(await found("name=~c")) == 12 + 3  # cpu, not disk.used's "c"
        assert await found("name=cpu", "dc=", "os=") == [
            "cpu;host=caf\u00e9;zone=a b",
            "cpu;host=web02",
            "cpu;host=web05",
            "cpu;host=web11",
        ]
        assert await found("name=disk.used", "os!=bsd", "dc=us") == [
            "disk.used;dc=us;host=web01",  # no os at all
            "disk.used;dc=us;host=web04;os=linux",
            "disk.used;dc=us;host=web07",
            "disk.used;dc=us;host=web10",
        ]

    async def test_series_come_sorted_and_cut_at_the_limit(self, index: Index) -> None:
        await load(index, list(reversed(SERIES)))
        query = TagQuery.parse(["name=cpu"])
        every = brute_force(SERIES, query)
        assert await index.find_series(query, 10_000) == every
        assert await index.find_series(query, 3) == every[:3]
        assert await index.find_series(query, 0) == []

    async def test_tags_are_listed_with_name_and_filtered_from_their_start(
        self, index: Index
    ) -> None:
        await load(index, SERIES + UNTAGGED)
        tags = every_tag(SERIES)
        assert tags == ["dc", "host", "kind", "name", "os", "room", "zone"]
        assert await index.list_tags(None, 100) == tags
        assert await index.list_tags(None, 2) == tags[:2]
        assert await index.list_tags(TagFilter("o"), 100) == ["os"]
        assert await index.list_tags(TagFilter("^[dh]"), 100) == ["dc", "host"]
        assert await index.list_tags(TagFilter("n|z"), 100) == ["name", "zone"]

    async def test_values_are_listed_with_how_many_series_hold_them(self, index: Index) -> None:
        await load(index, SERIES + SERIES[:5])
        assert await index.list_values("dc", None, 100) == value_counts(SERIES, "dc")
        assert await index.list_values("dc", None, 100) == [TagValue("eu", 14), TagValue("us", 12)]
        assert await index.list_values("host", None, 3) == value_counts(SERIES, "host")[:3]
        filtered = await index.list_values("host", TagFilter("db"), 100)
        assert filtered == [TagValue("db01", 1), TagValue("db01.example.com", 1)]
        assert await index.list_values("nothing", None, 100) == []

    async def test_tags_complete_over_every_series_or_those_a_query_matches(
        self, index: Index
    ) -> None:
        await load(index, SERIES)
        tags = every_tag(SERIES)
        assert await index.autocomplete_tags(None, "", 100) == tags
        assert await index.autocomplete_tags(None, "o", 100) == ["os"]
        assert await index.autocomplete_tags(None, "", 3) == tags[:3]
        for texts in QUERIES:
            query = TagQuery.parse(texts)
            expected = sorted(set(every_tag(brute_force(SERIES, query))) - query.tags)
            assert await index.autocomplete_tags(query, "", 100) == expected, texts
            assert await index.autocomplete_tags(query, "h", 100) == [
                tag for tag in expected if tag.startswith("h")
            ], texts
            assert await index.autocomplete_tags(query, "", 1) == expected[:1], texts

    async def test_values_complete_over_every_series_or_those_a_query_matches(
        self, index: Index
    ) -> None:
        await load(index, SERIES)
        hosts = [value.value for value in value_counts(SERIES, "host")]
        assert await index.autocomplete_values(None, "host", "", 100) == hosts
        assert await index.autocomplete_values(None, "host", "db", 100) == [
            "db01",
            "db01.example.com",
        ]
        assert await index.autocomplete_values(None, "host", "", 4) == hosts[:4]
        for texts in QUERIES:
            query = TagQuery.parse(texts, TagExpression.has("host"))
            matched = brute_force(SERIES, query)
            expected = sorted({parse_tags(path)["host"] for path in matched})
            assert await index.autocomplete_values(query, "host", "", 100) == expected, texts
            assert await index.autocomplete_values(query, "host", "web1", 100) == [
                value for value in expected if value.startswith("web1")
            ], texts
            assert await index.autocomplete_values(query, "host", "", 2) == expected[:2], texts

    async def test_adding_twice_changes_nothing(self, index: Index) -> None:
        await load(index, SERIES)
        await load(index, SERIES + SERIES[::2])
        query = TagQuery.parse(["host=~web"])
        assert await index.find_series(query, 10_000) == brute_force(SERIES, query)
        assert await index.list_values("name", None, 100) == value_counts(SERIES, "name")

    async def test_thousands_of_series(self, index: Index) -> None:
        paths = [
            normalise(f"load;host=h{h:04d};core={c};dc=dc{h % 5}")
            for h in range(2000)
            for c in range(4)
        ]
        index.add(paths[:5000])
        index.add(paths[5000:])
        await index.flush()
        for texts in (
            ["dc=dc3", "core!=0", "host=~h00"],
            ["host=h0042", "name=~lo"],  # one host, then a value every series holds
            ["host=~h004[2-5]", "core!=~[12]", "dc!=dc9"],
        ):
            query = TagQuery.parse(texts)
            assert await index.find_series(query, 100_000) == brute_force(paths, query), texts
        assert len(await index.find_series(TagQuery.parse(["name=load"]), 100_000)) == 8000
        assert await index.list_values("core", None, 10) == [
            TagValue(str(core), 2000) for core in range(4)
        ]
        assert await index.autocomplete_values(None, "host", "h199", 100) == [
            f"h199{n}" for n in range(10)
        ]
        one_host = TagQuery.parse(["host=h0042"], TagExpression.has("core"))
        assert await index.autocomplete_values(one_host, "core", "", 10) == ["0", "1", "2", "3"]
        assert await index.autocomplete_tags(one_host, "", 10) == ["dc", "name"]
        one_dc = TagQuery.parse(["dc=dc1"], TagExpression.has("host"))
        assert await index.autocomplete_values(one_dc, "host", "h00", 3) == [
            "h0001",
            "h0006",
            "h0011",
        ]
        assert await index.autocomplete_tags(one_dc, "", 10) == ["core", "name"]
