"""What the memory index keeps per path: a leaf is a dictionary entry, not an object."""

from __future__ import annotations

import gc
import tracemalloc

from cyanite_py.counters import Registry
from cyanite_py.index.base import Node
from cyanite_py.index.memory import MemoryIndex, MemoryIndexConfig

HOSTS = 2_000
METRICS = 100


def farm() -> list[str]:
    """Paths as a collector writes them: the same metric names under every host, each
    name a string of its own (as read from a socket or a store)."""
    text = "\n".join(
        f"farm.host{h:04d}.metric{m:02d}" for h in range(HOSTS) for m in range(METRICS)
    )
    return text.split("\n")


def test_a_leaf_costs_a_dictionary_entry_and_shares_its_name() -> None:
    paths = farm()
    index = MemoryIndex(MemoryIndexConfig(), Registry())
    gc.collect()
    tracked = len(gc.get_objects())
    tracemalloc.start()
    index.add(paths)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per_leaf = held / len(paths)
    assert per_leaf < 60, f"{per_leaf:.0f} bytes a leaf"
    assert len(gc.get_objects()) - tracked < 2 * HOSTS  # a branch and its dict per host


def test_a_leaf_that_gains_children_becomes_a_branch() -> None:
    index = MemoryIndex(MemoryIndexConfig(), Registry())
    index.add(["a.b", "a.c"])
    index.add(["a.b.x", "a.c"])
    assert sorted(index.find_now("a.*")) == [
        Node("a.b", leaf=True, branch=True),
        Node("a.c", leaf=True, branch=False),
    ]
    assert list(index.find_now("a.b.*")) == [Node("a.b.x", leaf=True, branch=False)]
    assert index.paths() == 3
