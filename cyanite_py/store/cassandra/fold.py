"""Folding a block's rows, written in many parts, into one row.

A live server writes every few seconds (closed windows and checkpoints of open ones), so
each write adds a row to every block it touches: a 10 s block of 256 windows would
collect hundreds of rows, and an hour's read would read 720 rows a series. So once a
block holds `FOLD_MIN_ROWS` rows of this store's, the store reads them, merges their
windows and replaces them with one row, in one single-partition batch (insert the merged
row, delete the parts), which Cassandra applies atomically: a read sees the parts or the
merged row, never both or neither. The merged row is this store's too, so an open block
folds again as parts arrive, and holds a dozen rows at most.

Only the writer's own rows are folded, named by the stamps it wrote (a second server's
rows are its own to fold), and the merged row's stamp is derived from the stamps it
replaces, so a fold that is retried after a timeout rewrites the same row instead of
adding one. A fold that fails leaves the parts: reads stay exact, only slower.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cyanite_py.store.cassandra.layout import (
    BLOCK_WINDOWS,
    VALUE_COLUMNS,
    RowValues,
    decoded,
    folded,
    row_columns,
)

FOLD_GRACE = 120
"""Seconds after a block's end before the store stops counting its parts: late points and
the last checkpoints of its windows come first."""
FOLD_INTERVAL = 30.0
"""Seconds between looks for blocks to fold."""
FOLD_MIN_ROWS = 8
"""Rows of its own a block needs before it is folded: a replayed block, written in a few
large parts, is read fast as it is."""

BlockKey = tuple[str, int, int, int]
"""`(path, precision, part, start)` of a block."""


@dataclass(slots=True)
class Parts:
    """How many rows this store wrote into one block since its write number `first`, and
    the TTL they carry."""

    ttl: int
    first: int
    count: int = 0


class FoldQueue:
    """The blocks this store wrote into, until they are over and folded, and the stamps
    of its writes since the oldest of them began: one stamp a write, not one a row."""

    def __init__(self, grace: int) -> None:
        self._grace = grace
        self._blocks: dict[BlockKey, Parts] = {}
        self._stamps: list[int] = []
        self._base = 0
        """The write number of `_stamps[0]`."""

    def __len__(self) -> int:
        return len(self._blocks)

    def written(self, rows: Iterable[RowValues], stamp: int) -> None:
        """Note the rows of a write under `stamp` that Cassandra accepted."""
        number = self._base + len(self._stamps)
        self._stamps.append(stamp)
        blocks = self._blocks
        for row in rows:
            key = row[:4]
            parts = blocks.get(key)
            if parts is None:
                parts = blocks[key] = Parts(row[-1], number)
            parts.count += 1

    def restore(self, taken: Iterable[tuple[BlockKey, Parts]]) -> None:
        """Put back blocks whose fold failed, to try again later."""
        for key, parts in taken:
            held = self._blocks.get(key)
            if held is not None:
                parts.first = min(parts.first, held.first)
                parts.count += held.count
            self._blocks[key] = parts

    def due(self, now: float) -> tuple[list[tuple[BlockKey, Parts]], set[int]]:
        """Blocks with enough rows to fold, taken out of the queue, and this store's stamps
        that they may hold. Blocks over for `grace` seconds with fewer rows are forgotten:
        no more parts are expected."""
        taken = [
            (key, parts) for key, parts in self._blocks.items() if parts.count >= FOLD_MIN_ROWS
        ]
        for key, _ in taken:
            del self._blocks[key]
        over = [key for key in self._blocks if key[3] + key[1] * BLOCK_WINDOWS + self._grace <= now]
        for key in over:
            del self._blocks[key]
        own = set(self._stamps) if taken else set()
        oldest = min((parts.first for parts in self._blocks.values()), default=None)
        keep_from = self._base + len(self._stamps) if oldest is None else oldest
        del self._stamps[: keep_from - self._base]
        self._base = keep_from
        return taken, own


def folded_stamp(stamps: Sequence[int]) -> int:
    """A stamp that only this set of stamps gives, so a retried fold rewrites its row."""
    digest = hashlib.blake2b(np.array(sorted(stamps), dtype="<i8").tobytes(), digest_size=8)
    return int.from_bytes(digest.digest(), "little") >> 1


def fold(
    key: BlockKey, ttl: int, own: set[int], rows: Sequence[Any]
) -> tuple[RowValues, list[int], int] | None:
    """The merged row for the rows among `rows` (`stamp, offsets, *VALUE_COLUMNS, write
    time` as read) whose stamp is in `own`, the stamps it replaces, and the write time to
    give it: the latest of theirs, so a row written after them still outranks it on a tie
    of last points. None when fewer than two are left."""
    mine = [row for row in rows if row[0] in own]
    if len(mine) < 2:
        return None
    path, precision, part, start = key
    stamps, offsets, *values, written = zip(*mine, strict=True)
    times, columns = decoded(
        [start] * len(mine), offsets, values, VALUE_COLUMNS, precision, written
    )
    times, columns = folded(times, columns)
    merged: RowValues = (
        path, precision, part, start, folded_stamp(stamps),
        *row_columns(times, columns, start, precision), ttl,
    )  # fmt: skip
    return merged, list(stamps), max(written)
