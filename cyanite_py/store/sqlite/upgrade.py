"""Bringing a file written by an earlier version to the current layout, once, at open.

`PRAGMA user_version` numbers the layout of the records in `block` and `recent`:

- 0: 40 bytes a window (time, count, sum, min, max), before windows kept their last point;
- 1: 56 bytes a window, `blocks.RECORD`: the same, then the last point's value and time.

Upgrading from 0 rewrites every record with no last point (NaN, `NO_TIME`), which a read
takes as the window's mean, and which any part written since with a last point outranks.
It rewrites `UPGRADE_BLOCKS` blocks per transaction, so the write-ahead log stays small,
and keeps the key of the last block rewritten in `upgrade_progress`: a server stopped
halfway carries on from there at its next start.
"""

from __future__ import annotations

import logging
import sqlite3
import time

import numpy as np

from cyanite_py.model import NO_TIME
from cyanite_py.store.blocks import RECORD
from cyanite_py.store.sqlite.groups import COUNT_BYTES, ENTRY
from cyanite_py.store.sqlite.schema import LAYOUT, transaction

log = logging.getLogger(__name__)

RECORD_0 = np.dtype(
    [("time", "<i8"), ("count", "<f8"), ("sum", "<f8"), ("min", "<f8"), ("max", "<f8")]
)
"""A window in layout 0."""

UPGRADE_BLOCKS = 4096
"""Blocks rewritten per transaction: some 10 MiB of log."""

BlockKey = tuple[int, int, int]
"""`(path_id, precision, start)` of a block."""


class NewerLayout(sqlite3.DatabaseError):
    """The file was written by a later version, in a layout this one cannot read."""


def upgrade(connection: sqlite3.Connection, path: str) -> None:
    """Bring the file on `connection` (the writer's) to `LAYOUT`, or raise `NewerLayout`
    if a later version wrote it."""
    found: int = connection.execute("PRAGMA user_version").fetchone()[0]
    if found == LAYOUT:
        return
    if found > LAYOUT:
        raise NewerLayout(
            f"written by a later version of cyanite-py (layout {found}; this one reads {LAYOUT})"
        )
    began = time.monotonic()
    blocks = connection.execute("SELECT count(*) FROM block").fetchone()[0]
    log.info("upgrading SQLite store %s: windows keep their last point (%d blocks)", path, blocks)
    key: BlockKey | None = start_or_resume(connection)
    while key is not None:
        key = rewrite_next_blocks(connection, key)
    with transaction(connection):
        connection.execute("DROP TABLE upgrade_progress")
        connection.execute(f"PRAGMA user_version = {LAYOUT}")
    log.info("upgraded SQLite store %s in %.1f s", path, time.monotonic() - began)


def records_1(data: bytes) -> bytes:
    """Layout-0 records as layout-1 records, with no last point."""
    old = np.frombuffer(data, dtype=RECORD_0)
    new = np.empty(len(old), dtype=RECORD)
    for name in RECORD_0.names or ():
        new[name] = old[name]
    new["last"] = np.nan
    new["last_time"] = NO_TIME
    return new.tobytes()


def group_1(blob: bytes) -> bytes:
    """A layout-0 row of `recent` (a count, entries, then records) in layout 1."""
    head = COUNT_BYTES + int.from_bytes(blob[:COUNT_BYTES], "little") * ENTRY.itemsize
    return blob[:head] + records_1(blob[head:])


def start_or_resume(connection: sqlite3.Connection) -> BlockKey:
    """Where an upgrade begun before stopped; else begin one: rewrite `recent` (a few
    writes) and note that no block is rewritten yet."""
    with transaction(connection):
        connection.execute(
            "CREATE TABLE IF NOT EXISTS upgrade_progress"
            " (path_id INTEGER NOT NULL, precision INTEGER NOT NULL, start INTEGER NOT NULL)"
        )
        done = connection.execute("SELECT path_id, precision, start FROM upgrade_progress")
        row = done.fetchone()
        if row is not None:
            return (int(row[0]), int(row[1]), int(row[2]))
        rows = connection.execute("SELECT seq, grp, data FROM recent").fetchall()
        connection.executemany(
            "UPDATE recent SET data = ? WHERE seq = ? AND grp = ?",
            ((group_1(data), seq, grp) for seq, grp, data in rows),
        )
        lowest = (-(2**63), -(2**63), -(2**63))
        connection.execute("INSERT INTO upgrade_progress VALUES (?, ?, ?)", lowest)
        return lowest


def rewrite_next_blocks(connection: sqlite3.Connection, after: BlockKey) -> BlockKey | None:
    """Rewrite the `UPGRADE_BLOCKS` blocks after `after`, in key order, in one transaction;
    the key of the last one, or None when none was left."""
    with transaction(connection):
        rows = connection.execute(
            "SELECT path_id, precision, start, data FROM block"
            " WHERE (path_id, precision, start) > (?, ?, ?)"
            " ORDER BY path_id, precision, start LIMIT ?",
            (*after, UPGRADE_BLOCKS),
        ).fetchall()
        if not rows:
            return None
        connection.executemany(
            "UPDATE block SET data = ? WHERE path_id = ? AND precision = ? AND start = ?",
            ((records_1(data), *key) for *key, data in rows),
        )
        last: BlockKey = rows[-1][:3]
        connection.execute(
            "UPDATE upgrade_progress SET path_id = ?, precision = ?, start = ?", last
        )
    return last
