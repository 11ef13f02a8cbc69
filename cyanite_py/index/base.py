"""The interface every path index implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import trio

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


class Index(Protocol):
    """Keeps paths, answers per-node Graphite globs with the matching nodes."""

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Open the index (loading what it needs), report readiness, serve until cancelled."""
        ...

    def add(self, paths: Sequence[str]) -> None:
        """Take paths first seen by the engine; never blocks (a remote index queues them)."""
        ...

    async def flush(self) -> None:
        """Wait until every path handed to `add` so far is answerable by `find`."""
        ...

    async def find(self, pattern: str) -> list[Node]:
        """Nodes whose path matches `pattern` node by node, sorted by path."""
        ...
