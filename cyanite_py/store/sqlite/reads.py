"""Reading: each path's windows from `block` and from the writes `recent` still holds.

Reads run on their own connections, which in WAL mode never wait for a write and see
only committed writes; a read seeks once per write and group of paths `recent` holds.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter

import numpy as np

from cyanite_py.model import Aggregate, Series
from cyanite_py.store.blocks import block_start, unpack
from cyanite_py.store.sqlite.config import MAX_RECENT_WRITES
from cyanite_py.store.sqlite.groups import GROUP_PATHS, gathered
from cyanite_py.store.sqlite.schema import marks

MAX_PARAMETERS = 400
"""Path ids per `IN (…)` list; with up to `MAX_RECENT_WRITES` + 1 write numbers bound
beside them in `recent`, still under the 999 parameters of older SQLite builds."""
assert MAX_PARAMETERS + MAX_RECENT_WRITES + 1 <= 999


@dataclass(frozen=True, slots=True)
class Read:
    """One read: each path's `aggregate` at `precision` on the grid from `start`, with the
    windows of `[kept_from, end)`, from `block` and from the writes `recent` may hold."""

    precision: int
    start: int
    kept_from: int
    end: int
    aggregate: Aggregate
    recent: tuple[int, ...]

    def run(self, connection: sqlite3.Connection, names: dict[int, str]) -> dict[str, Series]:
        """Unpack each path's blocks as soon as the scan has passed them and keep only its
        series, so one chunk of paths' windows in `recent` and one path's blocks at most
        are held at a time. One transaction makes every chunk see the same batches."""
        found: dict[str, Series] = {}
        ids = list(names)
        connection.execute("BEGIN")
        try:
            for first in range(0, len(ids), MAX_PARAMETERS):
                chunk = ids[first : first + MAX_PARAMETERS]
                recent = self._recent(connection, chunk)
                for path_id, group in groupby(self._blocks(connection, chunk), itemgetter(0)):
                    blocks = [data for _, data in group]
                    found[names[path_id]] = self._series(
                        names[path_id], blocks, recent.pop(path_id, None)
                    )
                for path_id, records in recent.items():
                    found[names[path_id]] = self._series(names[path_id], [], records)
        finally:
            connection.execute("COMMIT")
        return found

    def _blocks(self, connection: sqlite3.Connection, chunk: list[int]) -> sqlite3.Cursor:
        """`(path_id, data)` of the chunk's blocks in range, in key order."""
        return connection.execute(
            f"SELECT path_id, data FROM block WHERE path_id IN ({marks(chunk)})"
            " AND precision = ? AND start >= ? AND start < ? ORDER BY path_id, start",
            (*chunk, self.precision, block_start(self.kept_from, self.precision), self.end),
        )

    def _recent(self, connection: sqlite3.Connection, chunk: list[int]) -> dict[int, np.ndarray]:
        """The chunk's records in the writes `recent` holds, by path id, in time order:
        one seek per write and group of paths."""
        groups = sorted({path_id // GROUP_PATHS for path_id in chunk})
        rows = connection.execute(
            f"SELECT data FROM recent WHERE seq IN ({marks(self.recent)})"
            f" AND grp IN ({marks(groups)}) ORDER BY seq, grp",
            (*self.recent, *groups),
        )
        wanted = np.unique(np.array(chunk, dtype=np.int64))
        return gathered((data for (data,) in rows), wanted, self.precision)

    def _series(self, path: str, blocks: list[bytes], recent: np.ndarray | None) -> Series:
        """The path's series from its blocks, in time order, then its windows from recent
        writes, which are usually later still, so they unpack without a sort."""
        if recent is not None:
            blocks = [*blocks, recent.tobytes()]
        windows = unpack(blocks, self.kept_from, self.end)
        return windows.series(path, self.start, self.end, self.precision, self.aggregate)
