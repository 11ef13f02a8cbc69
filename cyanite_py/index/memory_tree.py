"""The memory index's path tree, a few bytes a leaf.

Most nodes are leaves without children, so such a node has no object of its own. A
`Branch` holds its children in a dictionary: a branch as a `Branch`, a leaf without
children as `LEAF`. Once a few leaves have come, they are packed into a sorted tuple of
their names, 8 bytes each where a dictionary entry takes about 30; later leaves wait in
the dictionary until they are a quarter as many as those packed, so packing costs a few
copies a leaf. Names are interned: `cpu` or `metric42` under every host is one string.
Dictionaries holding only leaves and tuples of names are not tracked by the garbage
collector once it has seen them.

Finds run in worker threads while `add` runs on the event loop: a branch publishes its
new tuple before dropping the names it packed from its dictionary, and a reader takes the
dictionary before the tuple, so a name is always in one of them (`names` drops the
doubles). A packed leaf that gains children stays in the tuple, shadowed by its branch.
"""

from __future__ import annotations

import sys
from bisect import bisect_left
from collections.abc import Iterable
from itertools import filterfalse
from typing import Final, Literal, TypeAlias

LEAF: Final = True
"""A leaf without children, as its parent's dictionary holds it."""
PACK_AT = 8
"""Leaves waiting in a branch's dictionary before they are packed, at the least."""


class Branch:
    """A node with children; `leaf` if it is a path as well."""

    __slots__ = ("children", "leaf", "packed", "unpacked")

    def __init__(self, leaf: bool) -> None:
        self.children: dict[str, Child] = {}
        """Branches, and leaves not packed yet."""
        self.packed: tuple[str, ...] = ()
        """The names of other leaves without children, sorted."""
        self.unpacked = 0
        self.leaf = leaf

    def has_children(self) -> bool:
        return bool(self.children or self.packed)

    def child(self, name: str) -> Child | None:
        found = self.children.get(name)
        if found is None and _holds(self.packed, name):
            return LEAF
        return found

    def add_leaves(self, names: Iterable[str]) -> int:
        """Make these children paths; how many were not paths already. Set operations
        in C sort the names into known and new."""
        children = self.children
        asked = set(names)
        known = asked & children.keys()
        added = 0
        for name in known:
            child = children[name]
            if child is not LEAF and not child.leaf:
                child.leaf = True
                added += 1
        new = asked - known
        packed = self.packed
        if len(new) * 8 > len(packed):  # cheaper than a search for each name
            new.difference_update(packed)
        elif new:
            new = {name for name in new if not _holds(packed, name)}
        if new:
            children.update(dict.fromkeys(map(sys.intern, new), LEAF))
            self.unpacked += len(new)
            added += len(new)
            if self.unpacked >= max(PACK_AT, len(packed) // 4):
                self._pack()
        return added

    def branch(self, name: str) -> Branch:
        """The child branch `name`, made if need be; a leaf of that name becomes one."""
        found = self.children.get(name)
        if isinstance(found, Branch):
            return found
        branch = Branch(leaf=found is LEAF or _holds(self.packed, name))
        self.children[sys.intern(name)] = branch
        if found is LEAF:
            self.unpacked -= 1
        return branch

    def names(self) -> tuple[dict[str, Child], list[str]]:
        """Every child's name once, and a dictionary where `get(name, LEAF)` is its child."""
        children = self.children
        names = list(children)
        packed = self.packed
        if packed:
            names.extend(filterfalse(children.__contains__, packed))
        return children, names

    def _pack(self) -> None:
        children = self.children
        self.packed = tuple(sorted((*self.packed, *(n for n, c in children.items() if c is LEAF))))
        self.children = {name: child for name, child in children.items() if child is not LEAF}
        self.unpacked = 0


Child: TypeAlias = "Branch | Literal[True]"


def _holds(packed: tuple[str, ...], name: str) -> bool:
    at = bisect_left(packed, name)
    return at < len(packed) and packed[at] == name
