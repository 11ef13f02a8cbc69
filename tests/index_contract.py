"""What every path index answers, run against each one by subclassing `IndexContract`.

A subclass's module provides the fixture `index`: a running, empty index. Every test adds
paths, flushes, and compares `find` with the set a brute-force glob match gives, so all
indexes are held to the same answers.
"""

from __future__ import annotations

from collections.abc import Iterable

from cyanite_py.index.base import Index, Node
from cyanite_py.index.glob import compile_pattern, matches

TREE = [
    "dc1.web01.cpu.user",
    "dc1.web01.cpu.system",
    "dc1.web01.mem.free",
    "dc1.web02.cpu.user",
    "dc1.web10.cpu.user",
    "dc1.db1.cpu.idle",
    "dc2.web01.cpu.user",
    "dc2.cache.hits",
    "dc3.x",
]

ODD_NAMES = [
    "with-dash",
    "under_score",
    "co:lon",
    "at@sign",
    "plus+sign",
    "per%cent",
    "caf\u00e9",
    "\u65e5\u672c\u8a9e",
    "snow\u2603man",
    "emoji\U0001f600",
    "it's",
    'say"hi"',
    "back\\slash",
    "paren(s)",
    "bang!",
    "hat^",
    "tilde~",
    "slash/ed",
    "amp&&and",
    "pipe||or",
    "less<more>",
    "equal=s",
    "space d",
    "AND",
    "NOT",
    "OR",
]
"""Names that need care somewhere: URL and JSON encoding, or Lucene query syntax."""


def expected(paths: Iterable[str], pattern: str) -> list[Node]:
    """The nodes a pattern should find among `paths`, by brute force over every prefix."""
    leaves = set(paths)
    branches = {
        path.rsplit(".", depth)[0] for path in leaves for depth in range(1, path.count(".") + 1)
    }
    patterns = compile_pattern(pattern)
    return sorted(
        Node(node, node in leaves, node in branches)
        for node in leaves | branches
        if matches(patterns, node)
    )


async def load(index: Index, paths: list[str]) -> None:
    index.add(paths)
    await index.flush()


class IndexContract:
    async def test_an_empty_index_finds_nothing(self, index: Index) -> None:
        assert await index.find("*") == []
        assert await index.find("a.b") == []

    async def test_literal_paths_and_their_branches(self, index: Index) -> None:
        await load(index, ["a.b.c"])
        assert await index.find("a.b.c") == [Node("a.b.c", leaf=True, branch=False)]
        assert await index.find("a.b") == [Node("a.b", leaf=False, branch=True)]
        assert await index.find("a") == [Node("a", leaf=False, branch=True)]
        assert await index.find("a.b.c.d") == []
        assert await index.find("b") == []

    async def test_every_kind_of_glob(self, index: Index) -> None:
        await load(index, TREE)
        patterns = [
            "*",
            "dc1.*",
            "*.*",
            "*.*.*.*",
            "dc1.web0?.cpu.user",
            "dc1.web[01]?.cpu.*",
            "dc1.web[0-9][2-9].*.*",
            "dc1.web[!0]*.cpu.user",
            "dc1.{web01,db1}.cpu.*",
            "{dc1,dc2}.web01.cpu.user",
            "dc1.{web*,d?1}.cpu.*",
            "dc?.w*1.*.u*r",
            "*.*.cpu.user",
            "dc1.*b*.cpu.*",
            "*c*",
            "dc1.web01.*.{free,idle}",
            "dc2.cache",
            "nothing.*",
        ]
        for pattern in patterns:
            assert await index.find(pattern) == expected(TREE, pattern), pattern

    async def test_no_wildcard_crosses_a_dot(self, index: Index) -> None:
        await load(index, ["a.b.c", "ab.c", "a.bc"])
        assert [n.path for n in await index.find("a*")] == ["a", "ab"]
        assert [n.path for n in await index.find("a?c")] == []
        assert [n.path for n in await index.find("a.*")] == ["a.b", "a.bc"]
        assert [n.path for n in await index.find("a*.c")] == ["ab.c"]

    async def test_a_node_may_be_both_leaf_and_branch(self, index: Index) -> None:
        await load(index, ["x.y.z"])
        await load(index, ["x.y"])
        await load(index, ["p.q", "p.q.r"])
        assert await index.find("x.y") == [Node("x.y", leaf=True, branch=True)]
        assert await index.find("p.*") == [Node("p.q", leaf=True, branch=True)]
        assert await index.find("*.*.*") == expected(["x.y.z", "x.y", "p.q", "p.q.r"], "*.*.*")

    async def test_adding_twice_changes_nothing(self, index: Index) -> None:
        await load(index, TREE)
        await load(index, TREE + TREE[:3])
        assert await index.find("*.*.*.*") == expected(TREE, "*.*.*.*")

    async def test_deep_paths(self, index: Index) -> None:
        deep = ".".join(f"level{i}" for i in range(40))
        await load(index, [deep, deep + ".leaf"])
        assert await index.find(deep) == [Node(deep, leaf=True, branch=True)]
        star = ".".join(["level0", *["*"] * 39, "leaf"])
        assert await index.find(star) == [Node(deep + ".leaf", leaf=True, branch=False)]
        assert await index.find(".".join(["*"] * 20)) == expected([deep], ".".join(["*"] * 20))

    async def test_results_are_sorted_by_path(self, index: Index) -> None:
        names = ["b", "a", "Z", "a1", "\u00e9", "10", "9"]
        await load(index, [f"s.{name}" for name in names])
        found = [n.path for n in await index.find("s.*")]
        assert found == sorted(f"s.{name}" for name in names)

    async def test_odd_characters_in_names(self, index: Index) -> None:
        paths = [f"odd.{name}.value" for name in ODD_NAMES]
        await load(index, paths)
        for path in paths:
            assert await index.find(path) == [Node(path, leaf=True, branch=False)], path
        assert await index.find("odd.*") == expected(paths, "odd.*")
        assert await index.find("odd.*.value") == expected(paths, "odd.*.value")
        for pattern in ["odd.back*", "odd.*\\*", "odd.co:*", "odd.*(s)", "odd.{AND,OR}", "odd.?OT"]:
            assert await index.find(pattern) == expected(paths, pattern), pattern
        assert await index.find("odd.*:lon*") == expected(paths, "odd.*:lon*")

    async def test_a_few_hundred_thousand_paths(self, index: Index) -> None:
        paths = [f"farm.host{h:03d}.metric{m:04d}" for h in range(250) for m in range(1000)]
        index.add(paths[:100_000])
        index.add(paths[100_000:])
        await index.flush()
        assert len(await index.find("farm.*")) == 250
        every = await index.find("farm.*.*")
        assert len(every) == 250_000
        assert every[0] == Node("farm.host000.metric0000", leaf=True, branch=False)
        assert every[-1].path == "farm.host249.metric0999"
        one = await index.find("farm.host1[0-2]?.metric000[!1-8]")
        assert one == expected(paths, "farm.host1[0-2]?.metric000[!1-8]")
        assert len(await index.find("farm.*.metric0042")) == 250
