"""Events in the SQLite store's file, beside the windows.

`event` holds one row per event, ids from AUTOINCREMENT so a deleted event's id is never
given again; `event_tag` holds one row per (tag, event), so a query by tags is an index
look-up, not a scan. Deleting an event leaves its `event_tag` rows: they match no event
any more, and they keep its tags known, as graphite-web keeps a tag once used. The tables
are created by the first call, through the store's writer, so opening a file written by
an older server needs no step of its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import trio

from cyanite_py.store.events import Event, EventQuery, NewEvent
from cyanite_py.store.sqlite.schema import marks, transaction

T = TypeVar("T")
OnConnection = Callable[..., Awaitable[Any]]
"""The store's `_on_writer` / `_on_reader`: `(op, work, *args)`, `work(connection, *args)`
run on a worker thread."""

EVENT_SCHEMA = """
CREATE TABLE IF NOT EXISTS event (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    what TEXT NOT NULL,
    data TEXT NOT NULL,
    tags TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS event_at ON event (at, id);
CREATE TABLE IF NOT EXISTS event_tag (
    tag TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    PRIMARY KEY (tag, event_id)
) WITHOUT ROWID;
"""

_COLUMNS = "id, at, what, data, tags"


class SqliteEvents:
    """Events through the store's connections: writes on its writer under its write lock,
    reads on its pool of readers."""

    def __init__(
        self, write_lock: trio.Lock, on_writer: OnConnection, on_reader: OnConnection
    ) -> None:
        self._write_lock = write_lock
        self._on_writer = on_writer
        self._on_reader = on_reader
        self._created = False

    async def add_event(self, new: NewEvent) -> Event:
        event_id = await self._write(_insert, new)
        return Event.numbered(event_id, new)

    async def get_event(self, event_id: int) -> Event | None:
        return await self._read(_select_one, event_id)

    async def delete_event(self, event_id: int) -> bool:
        return await self._write(_delete, event_id)

    async def find_events(self, query: EventQuery) -> list[Event]:
        return await self._read(_select, query)

    async def known_tags(self, tags: Sequence[str]) -> set[str]:
        return await self._read(_known, list(tags))

    async def _write(self, work: Callable[..., T], *args: Any) -> T:
        async with self._write_lock:
            await self._create()
            result: T = await self._on_writer("events", work, *args)
            return result

    async def _read(self, work: Callable[..., T], *args: Any) -> T:
        if not self._created:
            async with self._write_lock:
                await self._create()
        result: T = await self._on_reader("events", work, *args)
        return result

    async def _create(self) -> None:
        """Create the tables once; the caller holds the write lock."""
        if not self._created:
            await self._on_writer("events", _create_tables)
            self._created = True


def _create_tables(connection: sqlite3.Connection) -> None:
    connection.executescript(EVENT_SCHEMA)


def _insert(connection: sqlite3.Connection, new: NewEvent) -> int:
    with transaction(connection):
        cursor = connection.execute(
            "INSERT INTO event (at, what, data, tags) VALUES (?, ?, ?, ?)",
            (new.when, new.what, new.data, " ".join(new.tags)),
        )
        event_id = cursor.lastrowid
        assert event_id is not None
        connection.executemany(
            "INSERT OR IGNORE INTO event_tag (tag, event_id) VALUES (?, ?)",
            [(tag, event_id) for tag in new.tags],
        )
    return event_id


def _delete(connection: sqlite3.Connection, event_id: int) -> bool:
    with transaction(connection):
        return connection.execute("DELETE FROM event WHERE id = ?", (event_id,)).rowcount > 0


def _select_one(connection: sqlite3.Connection, event_id: int) -> Event | None:
    row = connection.execute(f"SELECT {_COLUMNS} FROM event WHERE id = ?", (event_id,)).fetchone()
    return None if row is None else _event(row)


def _select(connection: sqlite3.Connection, query: EventQuery) -> list[Event]:
    sql = f"SELECT {_COLUMNS} FROM event WHERE at >= ? AND at <= ?"
    args: list[object] = [query.start, query.end]
    if query.tags:
        tagged = f"SELECT event_id FROM event_tag WHERE tag IN ({marks(query.tags)})"
        if query.match_all:
            tagged += " GROUP BY event_id HAVING count(*) = ?"
        sql += f" AND id IN ({tagged})"
        args += [*query.tags, *([len(query.tags)] if query.match_all else [])]
    sql += " ORDER BY at, id LIMIT ?"
    args.append(query.limit)
    return [_event(row) for row in connection.execute(sql, args)]


def _known(connection: sqlite3.Connection, tags: list[str]) -> set[str]:
    if not tags:
        return set()
    rows = connection.execute(
        f"SELECT DISTINCT tag FROM event_tag WHERE tag IN ({marks(tags)})", tags
    )
    return {tag for (tag,) in rows}


def _event(row: tuple[Any, ...]) -> Event:
    event_id, when, what, data, tags = row
    return Event(event_id, when, what, data, tuple(tags.split()))
