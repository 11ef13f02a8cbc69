"""The engine's numbering of paths, and each path's slots (one per resolution of its rule).

Points from a parse worker name their paths by the worker's keys: the registry keeps,
per worker table, an array from those keys to its own ids, so a batch is translated with
one numpy index and a name is looked up only the first time a table shows it. Names are
found by a `NameIndex` over the table's names (about 20 bytes a path, where a dict took
60), and the other spellings of a name (`a..b`) in a dict of their own.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Sequence
from itertools import repeat

import numpy as np

from cyanite_py.counters import Counter, Registry
from cyanite_py.engine.admission import SeriesAdmission
from cyanite_py.engine.columns import GrowingColumn, Int32Array, Slots
from cyanite_py.engine.rules import Rule, match_rule
from cyanite_py.keytable import EMPTY, NameIndex
from cyanite_py.model import EngineBatch, IntArray, PathTable, PointBatch, Resolution
from cyanite_py.ratelog import RateLimitedLog
from cyanite_py.tags import TagError, is_tagged, normalise

log = logging.getLogger(__name__)

REFUSED = EMPTY
"""The id of a path refused a series for now (see `SeriesAdmission`), or not seen yet."""
NO_NODES = -2
"""The id of a path with no nodes at all (`.`, `..`): nothing Graphite could query."""
BAD_TAGS = -3
"""The id of a tagged path Graphite refuses (`cpu;host`, `cpu;dc=`)."""


def queryable(path: str) -> str:
    """`path` in the spelling Graphite can query: a tagged path with its tags in Graphite's
    order (`cpu;dc=eu;host=a`), any other without empty nodes (`.a..b.` is `a.b`).
    A TagError for a tagged path Graphite refuses."""
    if is_tagged(path):
        return normalise(path)
    if path.startswith(".") or path.endswith(".") or ".." in path:
        return ".".join(node for node in path.split(".") if node)
    return path


class PathRegistry:
    """Numbers paths as they are first seen and gives each its slots in `slots`."""

    def __init__(
        self,
        rules: tuple[Rule, ...],
        slots: Slots,
        on_new_paths: Callable[[Sequence[str]], None],
        created: Counter,
        admission: SeriesAdmission,
        registry: Registry,
    ) -> None:
        self.table = PathTable()
        self._admission = admission
        self._respelled = registry.counter(
            "engine_paths_respelled",
            "paths taken in Graphite's spelling: without empty nodes, or with tags in order",
        )
        refused = "points of new paths refused, by the bound"
        self._empty = registry.counter("engine_points_refused", refused, reason="no_nodes")
        self._bad_tags = registry.counter("engine_points_refused", refused, reason="bad_tags")
        self._log = RateLimitedLog(log, interval=60)
        self._rules = rules
        self._slots = slots
        self._on_new_paths = on_new_paths
        self._created = created
        self._ids = NameIndex(self.table.names)
        self._respellings: dict[str, int] = {}
        """The id of each other spelling seen of a path (or NO_NODES for one without)."""
        self._table_ids: weakref.WeakKeyDictionary[PathTable, GrowingColumn] = (
            weakref.WeakKeyDictionary()
        )
        self._first_slot = GrowingColumn(np.int32)  # int32: 4 bytes a path less
        self._resolution_count = GrowingColumn(np.int32)
        self._rule_index = GrowingColumn(np.int32)
        self._kept_any = GrowingColumn(np.bool_)
        every_resolution = [r for rule in rules for r in rule.resolutions]
        self._precisions = np.array([r.precision for r in every_resolution], np.int64)
        self._periods = np.array([r.period for r in every_resolution], np.int64)
        self._counts = np.array([len(rule.resolutions) for rule in rules])
        self._first_resolution = np.cumsum(self._counts) - self._counts
        self._unannounced: list[str] = []

    def __len__(self) -> int:
        return len(self.table.names)

    def take_unannounced(self) -> list[str]:
        """Paths with a first point kept since the last call, for the store's list of paths."""
        paths, self._unannounced = self._unannounced, []
        return paths

    def kept(self, path_ids: IntArray | Int32Array) -> None:
        """Announce the paths among `path_ids` whose first point was just kept: to the index
        now, to the store with the next batch. A path whose points were all too old for
        every resolution holds no data, so it is never listed."""
        first = ~self._kept_any.values[path_ids]
        if not first.any():
            return
        fresh = np.unique(path_ids[first])
        self._kept_any.values[fresh] = True
        names = list(map(self.table.names.__getitem__, fresh.tolist()))
        self._unannounced.extend(names)
        self._on_new_paths(names)

    def ids_of(self, batch: EngineBatch) -> IntArray:
        """The id of each point's path, or -1 where the path was refused a series; a table's
        new names are numbered once (refused ones are asked about again)."""
        if isinstance(batch, PointBatch):
            return self._ids_of_names(batch.paths)
        table = batch.table
        known = self._table_ids.get(table)
        if known is None:
            known = self._table_ids[table] = GrowingColumn(np.int32)
        if len(known) < len(table.names):
            known.extend(self._ids_of_names(table.names[len(known) :]))
        ids = known.values[batch.keys]
        if (ids < 0).any():
            refused = np.unique(batch.keys[ids < 0])
            retried = self._ids_of_names([table.names[key] for key in refused.tolist()])
            known.values[refused] = retried
            ids = known.values[batch.keys]
        return ids.astype(np.int64)

    def refused(self, ids: IntArray) -> None:
        """Count the points dropped because their paths (ids below 0) were refused."""
        empty = int(np.count_nonzero(ids == NO_NODES))
        bad_tags = int(np.count_nonzero(ids == BAD_TAGS))
        self._empty.inc(empty)
        self._bad_tags.inc(bad_tags)
        if len(ids) > empty + bad_tags:
            self._admission.refused(len(ids) - empty - bad_tags, len(self))

    def slots_of(self, ids: IntArray) -> tuple[IntArray, IntArray]:
        """Each path's first slot and how many slots (resolutions) it has."""
        return self._first_slot.values[ids].astype(np.int64), self._resolution_count.values[ids]

    def rule_for(self, path: str) -> Rule:
        """The rule of `path`: the one it was given when first seen, else the one it matches."""
        path_id = self._id_of(path)
        rule = match_rule(self._rules, path) if path_id < 0 else self._rule_of(path_id)
        return self._rules[rule]

    def slot(self, path: str, resolution: Resolution) -> int | None:
        """The slot of `path` at `resolution`, if the engine has seen the path."""
        path_id = self._id_of(path)
        if path_id < 0:
            return None
        resolutions = self._rules[self._rule_of(path_id)].resolutions
        if resolution not in resolutions:
            return None
        return int(self._first_slot.values[path_id]) + resolutions.index(resolution)

    def _rule_of(self, path_id: int) -> int:
        return int(self._rule_index.values[path_id])

    def _id_of(self, path: str) -> int:
        """The id of `path` in any spelling seen, or NO_NODES if it has none."""
        path_id = self._ids.position(path)
        return path_id if path_id != EMPTY else self._respellings.get(path, NO_NODES)

    def _ids_of_names(self, paths: list[str]) -> IntArray:
        ids = self._known_ids(paths)
        unknown = np.flatnonzero(ids == REFUSED)
        if len(unknown):
            names = list(map(paths.__getitem__, unknown.tolist()))
            refused = self._take(list(dict.fromkeys(names)))
            ids[unknown] = self._known_ids(names)
            if refused:
                ids[unknown] = [
                    refused.get(path, i)
                    for path, i in zip(names, ids[unknown].tolist(), strict=True)
                ]
        return ids

    def _known_ids(self, paths: list[str]) -> IntArray:
        """Each path's id, in any spelling seen, else REFUSED."""
        ids = self._ids.positions(paths)
        if self._respellings:
            others = np.flatnonzero(ids == EMPTY)
            names = map(paths.__getitem__, others.tolist())
            ids[others] = list(map(self._respellings.get, names, repeat(REFUSED)))
        return ids

    def _take(self, unknown: list[str]) -> dict[str, int]:
        """Register new paths under the spelling Graphite can query: another spelling of a
        path becomes another name for it, and a path with no nodes is refused for good.
        A tagged path Graphite refuses is refused each time it comes, not remembered, so
        invented names cannot grow memory; the answer holds those, with `BAD_TAGS`."""
        spelled: dict[str, str] = {}
        refused: dict[str, int] = {}
        for raw in unknown:
            try:
                spelled[raw] = queryable(raw)
            except TagError as error:
                refused[raw] = BAD_TAGS
                self._log.warning("bad_tags", "refused the points of %.200r: %s", raw, error)
        named = [path for path in dict.fromkeys(spelled.values()) if path]
        held = self._ids.positions(named).tolist()
        fresh = [path for path, i in zip(named, held, strict=True) if i == EMPTY]
        self._register(fresh[: self._admission.admit(len(fresh), len(self))])
        for raw, path in spelled.items():
            if raw != path:
                self._respelled.inc()
                path_id = self._ids.position(path) if path else NO_NODES
                if path_id != EMPTY:
                    self._respellings[raw] = path_id
        return refused

    def _register(self, paths: list[str]) -> None:
        """Number new paths and give each a slot per resolution of its rule, column-wise."""
        first_id = len(self.table.names)
        path_ids = np.arange(first_id, first_id + len(paths))
        rules = self._match_rules(paths)
        counts = self._counts[rules]
        self._rule_index.extend(rules)
        self._resolution_count.extend(counts)
        first_slots = len(self._slots) + np.cumsum(counts) - counts
        self._first_slot.extend(first_slots)
        rows = np.arange(int(counts.sum())) - np.repeat(first_slots - len(self._slots), counts)
        rows += np.repeat(self._first_resolution[rules], counts)
        self._slots.allocate(
            np.repeat(path_ids, counts), self._precisions[rows], self._periods[rows]
        )
        self._kept_any.extend(np.zeros(len(paths), np.bool_))
        self._ids.extend(paths)  # last: a reading thread finds a path once its columns are
        self._created.inc(len(paths))

    def _match_rules(self, paths: list[str]) -> IntArray:
        if not self._rules[0].pattern.pattern:  # `default` comes first: nothing else applies
            return np.zeros(len(paths), dtype=np.int64)
        rules = self._rules
        return np.fromiter((match_rule(rules, path) for path in paths), np.int64, len(paths))
