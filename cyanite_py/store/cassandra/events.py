"""Events in the Cassandra store's keyspace (tables in `event_tables`).

Statements are prepared on first use on each connection, so the store prepares nothing
more at start-up. Requests go through the store's own sender, so they share its bound on
requests in flight, its counters and its errors (`StoreUnavailable`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import trio
from cassandra.cluster import Session
from cassandra.query import BatchStatement, BatchType, PreparedStatement

from cyanite_py.store.base import StoreUnavailable
from cyanite_py.store.cassandra.calls import Request, ignore
from cyanite_py.store.cassandra.connection import Connection
from cyanite_py.store.cassandra.event_tables import day_of, new_id
from cyanite_py.store.events import Event, EventQuery, NewEvent, first_matches

Send = Callable[[Connection, Iterable[Request], str], Awaitable[None]]
DAYS_AT_ONCE = 16
"""Days of events asked for at once; a query stops asking once it has enough events."""


@dataclass(frozen=True, slots=True)
class _Statements:
    insert_event: PreparedStatement
    insert_by_day: PreparedStatement
    insert_day: PreparedStatement
    insert_tag: PreparedStatement
    select_event: PreparedStatement
    delete_event: PreparedStatement
    delete_by_day: PreparedStatement
    select_days: PreparedStatement
    select_by_day: PreparedStatement
    select_tags: PreparedStatement

    @classmethod
    def prepare(cls, session: Session, ks: str) -> _Statements:
        """Every statement (blocking: runs in a worker thread)."""
        columns = "id, at, what, data, tags"
        return cls(
            insert_event=session.prepare(
                f"INSERT INTO {ks}.event ({columns}) VALUES (?, ?, ?, ?, ?)"
            ),
            insert_by_day=session.prepare(
                f"INSERT INTO {ks}.event_by_day (day, {columns}) VALUES (?, ?, ?, ?, ?, ?)"
            ),
            insert_day=session.prepare(f"INSERT INTO {ks}.event_day (shard, day) VALUES (0, ?)"),
            insert_tag=session.prepare(f"INSERT INTO {ks}.event_tag (tag) VALUES (?)"),
            select_event=session.prepare(f"SELECT {columns} FROM {ks}.event WHERE id = ?"),
            delete_event=session.prepare(f"DELETE FROM {ks}.event WHERE id = ?"),
            delete_by_day=session.prepare(
                f"DELETE FROM {ks}.event_by_day WHERE day = ? AND at = ? AND id = ?"
            ),
            select_days=session.prepare(
                f"SELECT day FROM {ks}.event_day WHERE shard = 0 AND day >= ? AND day <= ?"
            ),
            select_by_day=session.prepare(
                f"SELECT {columns} FROM {ks}.event_by_day WHERE day = ? AND at >= ? AND at <= ?"
            ),
            select_tags=session.prepare(f"SELECT tag FROM {ks}.event_tag WHERE tag IN ?"),
        )


class CassandraEvents:
    """Events through the store's connection (`require`) and sender (`send`)."""

    def __init__(self, require: Callable[[], Connection], send: Send) -> None:
        self._require = require
        self._send = send
        self._prepared: tuple[Connection, _Statements] | None = None

    async def add_event(self, new: NewEvent) -> Event:
        conn, statements = await self._statements()
        event = Event.numbered(new_id(), new)
        row = (event.id, event.when, event.what, event.data, list(event.tags))
        batch = BatchStatement(BatchType.LOGGED)
        batch.add(statements.insert_event, row)
        batch.add(statements.insert_by_day, (day_of(event.when), *row))
        batch.add(statements.insert_day, (day_of(event.when),))
        for tag in event.tags:
            batch.add(statements.insert_tag, (tag,))
        await self._send(conn, [(batch, None, ignore)], "write")
        return event

    async def get_event(self, event_id: int) -> Event | None:
        conn, statements = await self._statements()
        found: list[Event] = []
        await self._send(conn, [(statements.select_event, (event_id,), _keep(found))], "read")
        return found[0] if found else None

    async def delete_event(self, event_id: int) -> bool:
        event = await self.get_event(event_id)
        if event is None:
            return False
        conn, statements = await self._statements()
        batch = BatchStatement(BatchType.LOGGED)
        batch.add(statements.delete_event, (event.id,))
        batch.add(statements.delete_by_day, (day_of(event.when), event.when, event.id))
        await self._send(conn, [(batch, None, ignore)], "write")
        return True

    async def find_events(self, query: EventQuery) -> list[Event]:
        conn, statements = await self._statements()
        days: list[int] = []

        def keep_days(rows: list[Any]) -> None:
            days.extend(row[0] for row in rows)

        bounds = (day_of(query.start), day_of(query.end))
        await self._send(conn, [(statements.select_days, bounds, keep_days)], "read")
        found: list[Event] = []
        for first in range(0, len(days), DAYS_AT_ONCE):
            chunk = sorted(days[first : first + DAYS_AT_ONCE])
            by_day: dict[int, list[Event]] = {day: [] for day in chunk}
            reads = (
                (statements.select_by_day, (day, query.start, query.end), _keep(by_day[day]))
                for day in chunk
            )
            await self._send(conn, reads, "read")
            wanted = replace(query, limit=query.limit - len(found))
            found += first_matches(wanted, (event for day in chunk for event in by_day[day]))
            if len(found) >= query.limit:
                break
        return found

    async def known_tags(self, tags: Sequence[str]) -> set[str]:
        if not tags:
            await trio.lowlevel.checkpoint()
            return set()
        conn, statements = await self._statements()
        known: set[str] = set()

        def keep(rows: list[Any]) -> None:
            known.update(row[0] for row in rows)

        await self._send(conn, [(statements.select_tags, (list(tags),), keep)], "read")
        return known

    async def _statements(self) -> tuple[Connection, _Statements]:
        """The connection, and the statements prepared on it (again after a reconnect)."""
        conn = self._require()
        if self._prepared is None or self._prepared[0] is not conn:
            try:
                statements = await trio.to_thread.run_sync(
                    _Statements.prepare, conn.session, conn.keyspace
                )
            except Exception as error:
                kind = type(error).__name__
                raise StoreUnavailable(
                    f"cassandra events: prepare failed: {kind}: {error}"
                ) from error
            self._prepared = (conn, statements)
        return self._prepared


def _keep(events: list[Event]) -> Callable[[list[Any]], None]:
    """The handler that adds an answer's rows to `events`."""

    def keep(rows: list[Any]) -> None:
        events.extend(
            Event(event_id, when, what, data, tuple(tags or ()))
            for event_id, when, what, data, tags in rows
        )

    return keep
