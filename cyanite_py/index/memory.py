"""The in-process path index: a prefix tree walked one glob node at a time.

A literal node is one dictionary lookup, so a glob costs in proportion to the nodes it
can match, not to the number of paths. Rebuilt from the store at start-up, then brought up
to date from it every `refresh_interval`, so paths that other servers sharing the store
wrote are found here too, at most that long (plus the writer's delay) after. A glob with
wildcards is walked in a worker thread, so a broad one never stalls the event loop, and
a walk that matches more than `max_matches` nodes at any level stops with `TooManyMatches`.

Tagged paths (`name;tag=value`) stay out of the tree, as globs never list them: they go
to a `TagTable`, which answers the tag queries in a worker thread, as broad globs are.

The tree (`memory_tree`) costs about a dozen bytes a leaf: no object of its own, a name
shared with every other node so named, in a sorted tuple of its parent's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from operator import itemgetter
from typing import Literal

import trio
from pydantic import Field

from cyanite_py.counters import Registry
from cyanite_py.index.base import Node, PathLoader, PathsSince, TagValue
from cyanite_py.index.glob import NodePattern, TooManyMatches, compile_pattern, has_wildcard
from cyanite_py.index.memory_tags import TagTable
from cyanite_py.index.memory_tree import LEAF, Branch, Child
from cyanite_py.ratelog import RateLimitedLog
from cyanite_py.settings import Duration, settings
from cyanite_py.store.base import StoreUnavailable
from cyanite_py.tags import TagFilter, TagQuery, is_tagged

log = logging.getLogger(__name__)


@settings
class MemoryIndexConfig:
    type: Literal["memory"] = "memory"
    max_matches: int = Field(default=200_000, ge=1)
    """Nodes one glob may match at any of its levels; a broader glob is refused."""
    refresh_interval: Duration = Field(default=10, ge=0)
    """Seconds between reads of the paths written to the store since the last one (by
    any server); 0 reads them only at start-up."""


STEP_PATHS = 20_000
"""Paths read from the store that are added between two turns of the event loop: about
5 ms of work."""


class MemoryIndex:
    """Paths in a prefix tree, answering globs without scanning."""

    def __init__(
        self,
        config: MemoryIndexConfig,
        registry: Registry,
        load_paths: PathLoader | None = None,
        paths_since: PathsSince | None = None,
    ) -> None:
        self.config = config
        self._root = Branch(leaf=False)
        self._tags = TagTable()
        self._load_paths = load_paths
        self._paths_since = paths_since
        self._cursor = 0
        self._leaves = 0
        self._added = registry.counter("index_paths_added", "paths added to the index")
        self._rebuild_failures = registry.counter(
            "index_rebuild_failures", "attempts to load paths from a store that was away"
        )
        self._refreshes = registry.counter(
            "index_refreshes", "reads of the paths written to the store since the last one"
        )
        self._refresh_failures = registry.counter(
            "index_refresh_failures", "reads of new paths that failed: the store was away"
        )
        self._learned = registry.counter(
            "index_paths_learned", "paths first learned from the store (written by another server)"
        )
        self._log = RateLimitedLog(log, interval=60)
        self._refused = registry.counter(
            "index_finds_refused", "globs refused for matching more than index.max_matches"
        )
        registry.gauge("index_paths", "leaf paths in the index", lambda: float(self.paths()))

    def paths(self) -> int:
        """Leaf paths held, tagged ones included."""
        return self._leaves + len(self._tags)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Rebuild from the store before reporting ready; if the store is away, report
        ready anyway (points keep flowing in) and keep retrying the rebuild. Then refresh
        every `refresh_interval`."""
        rebuilt = await self._rebuild()
        task_status.started()
        delay = 1.0
        while not rebuilt:
            await trio.sleep(delay)
            delay = min(delay * 2, 60.0)
            rebuilt = await self._rebuild()
        interval = self.config.refresh_interval
        if self._paths_since is None or interval <= 0:
            await trio.sleep_forever()
        while True:
            await trio.sleep(interval)
            await self.refresh()

    async def refresh(self) -> None:
        """Add the paths written to the store since the last rebuild or refresh."""
        assert self._paths_since is not None
        try:
            paths, cursor = await self._paths_since(self._cursor)
        except StoreUnavailable as error:
            self._refresh_failures.inc()
            self._log.warning("refresh", "index not refreshed from the store: %s", error)
            return
        learned = await self._add_in_steps(paths)
        self._cursor = cursor
        self._refreshes.inc()
        self._learned.inc(learned)
        log.debug("refreshed from the store: %d paths read, %d new here", len(paths), learned)

    async def _rebuild(self) -> bool:
        try:
            if self._paths_since is not None:
                paths, self._cursor = await self._paths_since(0)
            elif self._load_paths is not None:
                paths = await self._load_paths()
            else:
                return True
        except StoreUnavailable as error:
            self._rebuild_failures.inc()
            self._log.warning("rebuild", "index not yet rebuilt from the store: %s", error)
            return False
        await self._add_in_steps(paths)
        log.info("index rebuilt with %d paths from the store", len(paths))
        return True

    async def _add_in_steps(self, paths: Sequence[str]) -> int:
        """Add paths read from the store, `STEP_PATHS` at a time, letting the event loop
        run between steps: a refresh reads back every path the server wrote since the
        last (millions while it fills), and adding them at once held the loop for
        seconds. How many were new."""
        added = 0
        for first in range(0, len(paths), STEP_PATHS):
            added += self._add(paths[first : first + STEP_PATHS])
            await trio.lowlevel.checkpoint()
        return added

    def add(self, paths: Sequence[str]) -> None:
        self._add(paths)

    def _add(self, paths: Sequence[str]) -> int:
        """Add each path and the branches above it; how many were new. Paths that share a
        parent one after the other (as a store and the engine list them) walk the tree
        once, and their names are added together."""
        tags = self._tags
        tagged = len(tags)
        added = 0
        parent: str | None = None
        branch = self._root
        names: list[str] = []
        for path in paths:
            # Only a path holding a `;` or a `}` can be tagged: every other is spared a call.
            if (";" in path or "}" in path) and is_tagged(path) and tags.take(path):
                continue
            above, dot, name = path.rpartition(".")
            if above != parent or not dot:
                added += branch.add_leaves(names)
                names = []
                parent = above if dot else None
                branch = self._branch(above) if dot else self._root
            names.append(name)
        added += branch.add_leaves(names)
        self._leaves += added
        added += len(tags) - tagged
        self._added.inc(added)
        return added

    def _branch(self, path: str) -> Branch:
        """The branch `path`, making it and the branches above it; a leaf on the way
        becomes a branch, which a finding thread sees whole, before or after."""
        branch = self._root
        for name in path.split("."):
            branch = branch.branch(name)
        return branch

    async def flush(self) -> None:
        """Nothing is queued: `add` is immediate."""

    async def find(self, pattern: str) -> list[Node]:
        if ";" in pattern and pattern in self._tags:
            return [Node(pattern, leaf=True, branch=False)]
        if not has_wildcard(pattern):
            return self.find_now(pattern)
        return await trio.to_thread.run_sync(self.find_now, pattern, abandon_on_cancel=True)

    def find_now(self, pattern: str) -> list[Node]:
        """The matching nodes sorted by path, computed synchronously. Sorting the distinct
        paths as strings orders the nodes as sorting them would, at C speed.

        Safe in a worker thread while `add` runs on the event loop: names are copied
        (one C-level step under the GIL) before they are matched, and no node is removed.
        """
        limit = self.config.max_matches
        found: list[tuple[str, Child]] = [("", self._root)]
        for depth, node_pattern in enumerate(compile_pattern(pattern)):
            following: list[tuple[str, Child]] = []
            for path, node in found:
                if node is LEAF:
                    continue
                following += _matching(node_pattern, node, path + "." if depth else "")
                if len(following) > limit:
                    self._refused.inc()
                    raise TooManyMatches(
                        f"{pattern[:200]!r} matches more than {limit} nodes "
                        "(index.max_matches); narrow the glob"
                    )
            found = following
            if not found:
                return []
        found.sort(key=itemgetter(0))
        return [_node(path, child) for path, child in found]

    async def find_series(self, query: TagQuery, limit: int) -> list[str]:
        tags = self._tags
        return await trio.to_thread.run_sync(tags.find_series, query, limit, abandon_on_cancel=True)

    async def list_tags(self, tag_filter: TagFilter | None, limit: int) -> list[str]:
        tags = self._tags
        return await trio.to_thread.run_sync(
            tags.list_tags, tag_filter, limit, abandon_on_cancel=True
        )

    async def list_values(
        self, tag: str, value_filter: TagFilter | None, limit: int
    ) -> list[TagValue]:
        tags = self._tags
        return await trio.to_thread.run_sync(
            tags.list_values, tag, value_filter, limit, abandon_on_cancel=True
        )

    async def autocomplete_tags(self, query: TagQuery | None, prefix: str, limit: int) -> list[str]:
        tags = self._tags
        return await trio.to_thread.run_sync(
            tags.autocomplete_tags, query, prefix, limit, abandon_on_cancel=True
        )

    async def autocomplete_values(
        self, query: TagQuery | None, tag: str, prefix: str, limit: int
    ) -> list[str]:
        tags = self._tags
        return await trio.to_thread.run_sync(
            tags.autocomplete_values, query, tag, prefix, limit, abandon_on_cancel=True
        )


def _matching(node_pattern: NodePattern, branch: Branch, prefix: str) -> list[tuple[str, Child]]:
    """The paths and nodes of the children of `branch` that a glob node matches: a regex
    runs over a copy of the names inside `filter`, with no Python step per name."""
    if node_pattern.literals is not None:
        found = ((name, branch.child(name)) for name in node_pattern.literals)
        return [(prefix + name, child) for name, child in found if child is not None]
    children, names = branch.names()
    if node_pattern.regex is not None:
        try:
            names = list(filter(node_pattern.regex.fullmatch, names))
        except UnicodeEncodeError:  # a lone surrogate, which RE2 cannot encode
            names = [name for name in names if node_pattern.matches(name)]
    return [(prefix + name, children.get(name, LEAF)) for name in names]


def _node(path: str, child: Child) -> Node:
    if child is LEAF:
        return Node(path, leaf=True, branch=False)
    return Node(path, child.leaf, branch=child.has_children())
