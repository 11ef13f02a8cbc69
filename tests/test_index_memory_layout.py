"""What the memory index keeps per path: a leaf is a name in its parent's sorted tuple,
not an object, and the tree answers as a plain set of paths would through every packing."""

from __future__ import annotations

import gc
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from cyanite_py.counters import Registry
from cyanite_py.index.base import Node
from cyanite_py.index.memory import MemoryIndex, MemoryIndexConfig
from tests.index_contract import expected

HOSTS = 2_000
METRICS = 100


def farm() -> list[str]:
    """Paths as a collector writes them: the same metric names under every host, each
    name a string of its own (as read from a socket or a store)."""
    text = "\n".join(
        f"farm.host{h:04d}.metric{m:02d}" for h in range(HOSTS) for m in range(METRICS)
    )
    return text.split("\n")


def index() -> MemoryIndex:
    return MemoryIndex(MemoryIndexConfig(), Registry())


def test_a_leaf_costs_a_few_bytes_and_no_object() -> None:
    paths = farm()
    index().add(paths)  # interns the names: the interpreter's table of them may grow once
    tree = index()
    gc.collect()
    tracked = len(gc.get_objects())
    tracemalloc.start()
    tree.add(paths)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per_leaf = held / len(paths)
    assert per_leaf < 20, f"{per_leaf:.0f} bytes a leaf"
    assert len(gc.get_objects()) - tracked < 4 * HOSTS  # a branch, its dict and tuple a host
    assert len(tree.find_now("farm.*.metric42")) == HOSTS


def test_leaves_added_one_at_a_time_are_all_found() -> None:
    tree = index()
    names = [f"m{i:03d}" for i in range(500)]
    for name in names[::-1]:
        tree.add([f"x.{name}"])
    assert [node.path for node in tree.find_now("x.*")] == [f"x.{name}" for name in names]
    assert tree.find_now("x.m250") == [Node("x.m250", leaf=True, branch=False)]
    assert tree.find_now("x.{m007,m499,nope}") == [
        Node("x.m007", leaf=True, branch=False),
        Node("x.m499", leaf=True, branch=False),
    ]
    assert tree.paths() == 500
    tree.add(["x.m001", "x.m499"])
    assert tree.paths() == 500


def test_a_packed_leaf_that_gains_children_is_listed_once_as_both() -> None:
    tree = index()
    tree.add([f"x.m{i:02d}" for i in range(40)])
    tree.add(["x.m05.inner", "x.m05.other"])
    found = tree.find_now("x.m0[4-6]")
    assert found == [
        Node("x.m04", leaf=True, branch=False),
        Node("x.m05", leaf=True, branch=True),
        Node("x.m06", leaf=True, branch=False),
    ]
    assert len(tree.find_now("x.*")) == 40
    tree.add([f"y.m{i:02d}" for i in range(40)])
    assert tree.find_now("y") == [Node("y", leaf=False, branch=True)]  # children all packed
    assert [node.path for node in tree.find_now("x.*.*")] == ["x.m05.inner", "x.m05.other"]
    assert tree.paths() == 82


NAMES = st.sampled_from([f"n{i}" for i in range(14)])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.lists(NAMES, min_size=1, max_size=3).map(".".join), max_size=30)))
def test_answers_as_the_set_of_paths_would(batches: list[list[str]]) -> None:
    tree = index()
    for batch in batches:
        tree.add(batch)
    paths = [path for batch in batches for path in batch]
    assert tree.paths() == len(set(paths))
    for pattern in ["*", "*.*", "*.*.*", "n1", "n1.*", "n[0-5].n1*", "{n2,n3}.*.n?", "n4.n4"]:
        assert tree.find_now(pattern) == expected(paths, pattern), pattern
