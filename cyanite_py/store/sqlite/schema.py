"""The file's layout, and opening it: tables, pragmas and connections.

`path` (id, unique name); `resolution` records each (precision, period) ever written, so
expiry can seek per path instead of scanning; `block` is keyed by (path_id, precision,
start) WITHOUT ROWID, each row packing up to 64 consecutive windows of one path (see
`cyanite_py.store.blocks`), so one path's windows at one resolution sit together in time
order, a read is one range scan over few rows, and a batch of history is written as few
rows. Pages are 16 KiB so a full block stays inside its page. `recent` holds writes not
yet merged into `block`, keyed by the write's sequence number and a group of 64 path ids
(see `cyanite_py.store.sqlite.writes`).

One connection writes, one copies the write-ahead log into the file (a checkpoint), and
`read_connections` read, each mapping the file rather than copying its pages.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from cyanite_py.store.blocks import fold
from cyanite_py.store.sqlite.config import SqliteStoreConfig

SCHEMA = """
CREATE TABLE IF NOT EXISTS path (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS resolution (
    precision INTEGER NOT NULL, period INTEGER NOT NULL, PRIMARY KEY (precision, period)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS block (
    path_id INTEGER NOT NULL,
    precision INTEGER NOT NULL,
    start INTEGER NOT NULL,
    period INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (path_id, precision, start)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS recent (
    seq INTEGER NOT NULL,
    grp INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (seq, grp)
) WITHOUT ROWID;
"""

LAYOUT = 1
"""The layout of the windows in `block` and `recent` that this version writes, kept in
`PRAGMA user_version` (see `cyanite_py.store.sqlite.upgrade` for the earlier ones)."""

PAGE_SIZE = 16384

WAL_BACKSTOP_PAGES = 16384
"""Log pages (256 MiB) past which the writer checkpoints on its own, should the
checkpoint task fall behind or fail."""


@dataclass
class Database:
    """An open file: its connections, and what the store keeps in memory of it."""

    writer: sqlite3.Connection
    checkpointer: sqlite3.Connection
    readers: list[sqlite3.Connection]
    ids: dict[str, int]
    resolutions: set[tuple[int, int]]
    recent: list[int] = field(default_factory=list)
    """The sequence numbers of the writes `recent` holds."""

    def close(self) -> None:
        for connection in (self.writer, self.checkpointer, *self.readers):
            connection.close()


def open_database(config: SqliteStoreConfig) -> Database:
    """Create the file and its schema; open every connection; load path ids. Raises
    `sqlite3.Error` or `OSError`, having closed whatever it opened."""
    opened: list[sqlite3.Connection] = []
    try:
        writer = _connect(config)
        opened.append(writer)
        writer.create_function("fold_block", 1, fold, deterministic=True)
        writer.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        writer.execute("PRAGMA journal_mode = WAL")
        writer.execute(f"PRAGMA wal_autocheckpoint = {WAL_BACKSTOP_PAGES}")
        new_file = not writer.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'block'"
        ).fetchone()
        writer.executescript(SCHEMA)
        if new_file:
            writer.execute(f"PRAGMA user_version = {LAYOUT}")
        ids = dict(writer.execute("SELECT name, id FROM path"))
        resolutions = set(writer.execute("SELECT precision, period FROM resolution"))
        first, last = writer.execute("SELECT min(seq), max(seq) FROM recent").fetchone()
        opened.append(_connect(config))
        for _ in range(config.read_connections):
            opened.append(_connect(config))
            opened[-1].execute("PRAGMA query_only = ON")
            opened[-1].execute(f"PRAGMA mmap_size = {config.mmap_size_mb * 2**20}")
    except BaseException:
        for connection in opened:
            connection.close()
        raise
    recent = [] if last is None else list(range(first, last + 1))
    return Database(writer, opened[1], opened[2:], ids, resolutions, recent)


def _connect(config: SqliteStoreConfig) -> sqlite3.Connection:
    connection = sqlite3.connect(
        config.path,
        timeout=config.busy_timeout,
        isolation_level=None,
        check_same_thread=False,
    )
    connection.execute(f"PRAGMA synchronous = {config.synchronous.upper()}")
    connection.execute(f"PRAGMA cache_size = {-1024 * config.cache_size_mb}")
    return connection


def load_paths(connection: sqlite3.Connection) -> list[str]:
    return [name for (name,) in connection.execute("SELECT name FROM path ORDER BY name")]


def load_paths_since(connection: sqlite3.Connection, cursor: int) -> tuple[list[str], int]:
    """Paths with an id above `cursor` (ids only grow), and the highest id seen."""
    rows = connection.execute("SELECT id, name FROM path WHERE id > ? ORDER BY id", (cursor,))
    found = rows.fetchall()
    return [name for _, name in found], found[-1][0] if found else cursor


def marks(values: Sequence[object]) -> str:
    """Placeholders for `values` in an `IN (…)` list."""
    return ",".join("?" * len(values))


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """A write transaction, committed when the block ends and rolled back if it raises."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
