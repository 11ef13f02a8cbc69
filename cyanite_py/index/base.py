"""The interface every path index implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import trio

from cyanite_py.tags import TagFilter, TagQuery

PathLoader = Callable[[], Awaitable[list[str]]]
PathsSince = Callable[[int], Awaitable[tuple[list[str], int]]]
"""`Store.load_paths_since`: the paths written since a cursor, and the next cursor."""


class IndexUnavailable(Exception):
    """The index cannot answer now (its backend is away); the API answers 503."""


@dataclass(frozen=True, slots=True, order=True)
class Node:
    """One node of the path tree: a leaf holds data, a branch has children; a node may be both."""

    path: str
    leaf: bool
    branch: bool

    @property
    def name(self) -> str:
        return self.path.rpartition(".")[2]


@dataclass(frozen=True, slots=True)
class TagValue:
    """One value of a tag, and how many tagged series hold it."""

    value: str
    count: int


class TagIndex(Protocol):
    """Answers Graphite's tag queries over the tagged paths (`name;tag=value;...`).

    Every answer is sorted and holds at most `limit` entries (`limit` >= 0), the first
    ones in order; the caller decides whether a full answer means there were more.
    """

    async def find_series(self, query: TagQuery, limit: int) -> list[str]:
        """The tagged paths whose tags meet every expression of `query`."""
        ...

    async def list_tags(self, tag_filter: TagFilter | None, limit: int) -> list[str]:
        """The tags of the tagged paths (`name` among them) that `tag_filter` matches."""
        ...

    async def list_values(
        self, tag: str, value_filter: TagFilter | None, limit: int
    ) -> list[TagValue]:
        """The values of `tag` that `value_filter` matches, each with how many paths hold it."""
        ...

    async def autocomplete_tags(self, query: TagQuery | None, prefix: str, limit: int) -> list[str]:
        """Tags starting with `prefix`: of every tagged path when `query` is None, else of
        the paths `query` matches, less the tags `query` names."""
        ...

    async def autocomplete_values(
        self, query: TagQuery | None, tag: str, prefix: str, limit: int
    ) -> list[str]:
        """Values of `tag` starting with `prefix`: of every tagged path when `query` is
        None, else of the paths `query` matches."""
        ...


class Index(TagIndex, Protocol):
    """Keeps paths, answers per-node Graphite globs with the matching nodes, and tag
    queries over the tagged paths."""

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Open the index (loading what it needs), report readiness, serve until cancelled."""
        ...

    def add(self, paths: Sequence[str]) -> None:
        """Take paths first seen by the engine, tagged ones in Graphite's spelling
        (`name;tag=value`, tags sorted); never blocks (a remote index queues them)."""
        ...

    async def flush(self) -> None:
        """Wait until every path handed to `add` so far is answerable by `find`."""
        ...

    async def find(self, pattern: str) -> list[Node]:
        """Nodes whose path matches `pattern` node by node, sorted by path. Globs never
        reach tagged paths; a pattern holding `;` finds the tagged path spelled exactly so
        (one leaf), as graphite-web finds it."""
        ...
