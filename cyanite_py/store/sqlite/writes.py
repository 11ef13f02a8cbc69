"""Writing: numbering paths, appending each write to `recent`, compacting `recent` into
`block`, and deleting expired blocks. Each function runs in one transaction on the writer
connection, in a worker thread.

A write does not go to `block` directly: every path has a block open at the present, and
a write touching every path would rewrite every page holding one, to add a window or two
to each. A write appends to `recent` instead, keyed first by the write's sequence number,
so its rows land after the last write's pages and nothing else is rewritten; and it
writes one row per 64 path ids (`groups`), not one per path and block, since a write's
cost in SQLite is mostly per row. Compaction later moves `recent` into `block`, one range
of paths per transaction, each block's new windows appended in write order, so the open
blocks are rewritten once per compaction rather than once per write.

A rewritten window MERGES into the stored one (counts and sums added, min and max
combined, the last point of the latest time kept, the part written later winning a
tie): late points, checkpoints of open windows and restarts write parts of windows.
Writes append records to their block; reads fold records of the same time together, and
compaction folds a block that outgrows its windows.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections import ChainMap
from collections.abc import Mapping

import numpy as np

from cyanite_py.model import IntArray, PathTable, SnapshotBatch
from cyanite_py.store.blocks import BLOCK_BYTES, BLOCK_WINDOWS, block_rows
from cyanite_py.store.sqlite.groups import Group, merged_records, pack_groups
from cyanite_py.store.sqlite.schema import marks, transaction

NO_IDS: IntArray = np.empty(0, dtype=np.int64)

APPEND = "INSERT INTO recent (seq, grp, data) VALUES ({seq:d}, ?, ?)"
"""Every row of a write has the write's number, so it is part of the statement's text."""

COMPACT_GROUPS = 80
"""Groups of path ids (5,120 paths) per compaction transaction, which bounds how long
writes wait and how far the write-ahead log grows."""

MERGE_BLOCK = f"""
INSERT INTO block (path_id, precision, start, period, data) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (path_id, precision, start) DO UPDATE SET
    period = excluded.period,
    data = CASE WHEN length(data) + length(excluded.data) > {BLOCK_BYTES}
        THEN fold_block(CAST(data || excluded.data AS BLOB))
        ELSE CAST(data || excluded.data AS BLOB) END
"""
"""Appends a block's new records, folding the parts of each window together once the block
holds more records than windows (checkpoints write a coarse window in many parts). `||`
makes text of blobs, so the fold is handed the bytes cast back to a blob."""

EXPIRE = f"""
DELETE FROM block
WHERE path_id = ? AND precision = ? AND start < ?
    AND start + precision * {BLOCK_WINDOWS} <= ? - period
"""

EXPIRE_CHUNK = 2000
"""Path ids per expiry transaction, so writes are held up only briefly."""


class PathIds:
    """The store's numbering of paths, assigned here rather than by SQLite, so a batch of
    100,000 snapshots needs no lookups in the file. Snapshots name their paths by the
    engine's keys, so it keeps, per engine table, an array from those keys to its ids and
    looks a name up only the first time it sees it."""

    def __init__(self, ids: dict[str, int]) -> None:
        self.ids = ids
        self.next_id = max(ids.values(), default=0) + 1
        self._tables: weakref.WeakKeyDictionary[PathTable, IntArray] = weakref.WeakKeyDictionary()

    def translate(self, batch: SnapshotBatch) -> tuple[IntArray, dict[str, int]]:
        """The path id of each key of the batch's table, up to its last key, and ids for
        the paths not yet stored (numbered in name order). Only keys added to the table
        since its last write are looked up by name. Nothing changes until `keep`."""
        known = self._tables.get(batch.table, NO_IDS)
        added = batch.table.names[len(known) : int(batch.keys.max(initial=-1)) + 1]
        unknown = set(batch.new_paths).union(added).difference(self.ids)
        fresh = {name: self.next_id + i for i, name in enumerate(sorted(unknown))}
        if added:
            lookup: Mapping[str, int] = ChainMap(fresh, self.ids) if fresh else self.ids
            ids = np.fromiter(map(lookup.__getitem__, added), np.int64, len(added))
            known = np.concatenate([known, ids])
        return known, fresh

    def keep(self, table: PathTable, translated: IntArray, fresh: dict[str, int]) -> None:
        """Remember a written batch's translation and new ids."""
        self.ids.update(fresh)
        self.next_id += len(fresh)
        self._tables[table] = translated


def append_write(
    connection: sqlite3.Connection,
    batch: SnapshotBatch,
    seq: int,
    path_ids: IntArray,
    fresh: dict[str, int],
    resolutions: set[tuple[int, int]],
) -> None:
    """New paths, new resolutions, then the snapshots appended to `recent` under `seq`."""
    with transaction(connection):
        connection.executemany(
            "INSERT INTO path (id, name) VALUES (?, ?)", ((i, name) for name, i in fresh.items())
        )
        connection.executemany(
            "INSERT OR IGNORE INTO resolution (precision, period) VALUES (?, ?)", resolutions
        )
        connection.executemany(APPEND.format(seq=seq), pack_groups(batch, path_ids))


def compact(
    connection: sqlite3.Connection, seqs: tuple[int, ...], first_group: int, end_group: int
) -> None:
    """Move the rows of writes `seqs` for groups in `[first_group, end_group)` from
    `recent` into `block`, appending each block's new windows in write order."""
    placeholders = marks(seqs)
    bounds = (*seqs, first_group, end_group)
    where = f"seq IN ({placeholders}) AND grp >= ? AND grp < ?"
    with transaction(connection):
        groups = [
            Group.decode(data)
            for (data,) in connection.execute(
                f"SELECT data FROM recent WHERE {where} ORDER BY seq, grp", bounds
            )
        ]
        if groups:
            connection.executemany(MERGE_BLOCK, block_rows(*merged_records(groups)))
            connection.execute(f"DELETE FROM recent WHERE {where}", bounds)


def expire(
    connection: sqlite3.Connection, ids: list[int], shortest: dict[int, int], now: int
) -> int:
    """Delete blocks whose every window has expired, seeking per (path, precision)."""
    removed = 0
    with transaction(connection):
        for precision, period in shortest.items():
            cursor = connection.executemany(
                EXPIRE, ((i, precision, now - period, now) for i in ids)
            )
            removed += cursor.rowcount
    return removed


def distinct_pairs(first: IntArray, second: IntArray) -> set[tuple[int, int]]:
    """The distinct `(first[i], second[i])`, one vectorised pass per pair found: a batch
    holds only a few resolutions."""
    found: set[tuple[int, int]] = set()
    while len(first):
        pair = (int(first[0]), int(second[0]))
        found.add(pair)
        other = (first != pair[0]) | (second != pair[1])
        first, second = first[other], second[other]
    return found
