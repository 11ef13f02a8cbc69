"""Events (graphite-web's annotations): what one is, how a query picks them, and events
kept in memory.

An event is a point in time with a title (`what`), free text (`data`) and tags; Grafana
draws it on a dashboard as an annotation. Every store keeps them beside its windows
(`Store.events`); the memory implementation here is also the reference the others
are tested against.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from cyanite_py.store.base import EventStore


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event as a client posts it, before a store numbers it."""

    when: float
    """Seconds since the epoch."""
    what: str
    data: str
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Event:
    """A stored event; `id` is the store's, unique within it and never reused."""

    id: int
    when: float
    what: str
    data: str
    tags: tuple[str, ...]

    @classmethod
    def numbered(cls, event_id: int, new: NewEvent) -> Event:
        return cls(event_id, new.when, new.what, new.data, new.tags)


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Events with `start <= when <= end`, oldest first (then by id), at most `limit`.

    With `tags`, only events carrying all of them (`match_all`) or any of them."""

    start: float
    end: float
    limit: int
    tags: tuple[str, ...] = ()
    match_all: bool = False

    def selects(self, event: Event) -> bool:
        """Whether `event` is one this query asks for (its time and its tags)."""
        return self.start <= event.when <= self.end and self.selects_tags(event.tags)

    def selects_tags(self, tags: Sequence[str]) -> bool:
        if not self.tags:
            return True
        held = set(tags)
        if self.match_all:
            return held.issuperset(self.tags)
        return not held.isdisjoint(self.tags)


async def tagged_query(
    events: EventStore,
    start: float,
    end: float,
    limit: int,
    tags: tuple[str, ...],
    mode: str | None = None,
) -> EventQuery | None:
    """The query for events carrying `tags`, as graphite-web matches them: any of them for
    `union`, all of them for `intersection`, and otherwise all of those some event was ever
    stored with (a tag no event ever had is left out); None when no event can match."""
    if mode not in ("union", "intersection"):
        known = await events.known_tags(tags)
        tags = tuple(tag for tag in tags if tag in known)
    if not tags:
        return None
    return EventQuery(start, end, limit, tags, match_all=mode != "union")


def split_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags as graphite-web keeps them: every whitespace-separated word, here without
    repeats, in the order given."""
    return tuple(dict.fromkeys(word for tag in tags for word in tag.split()))


def first_matches(query: EventQuery, events: Iterable[Event]) -> list[Event]:
    """The events `query` selects out of `events` (already in time order), up to its limit."""
    found: list[Event] = []
    for event in events:
        if len(found) >= query.limit:
            break
        if query.selects(event):
            found.append(event)
    return found


class MemoryEvents:
    """Events in a dict, numbered from 1; lost when the process stops."""

    def __init__(self) -> None:
        self._events: dict[int, Event] = {}
        self._next_id = 1
        self._known_tags: set[str] = set()

    async def add_event(self, new: NewEvent) -> Event:
        await trio.lowlevel.checkpoint()
        event = Event.numbered(self._next_id, new)
        self._next_id += 1
        self._events[event.id] = event
        self._known_tags.update(event.tags)
        return event

    async def get_event(self, event_id: int) -> Event | None:
        await trio.lowlevel.checkpoint()
        return self._events.get(event_id)

    async def delete_event(self, event_id: int) -> bool:
        await trio.lowlevel.checkpoint()
        return self._events.pop(event_id, None) is not None

    async def find_events(self, query: EventQuery) -> list[Event]:
        await trio.lowlevel.checkpoint()
        ordered = sorted(self._events.values(), key=lambda event: (event.when, event.id))
        return first_matches(query, ordered)

    async def known_tags(self, tags: Sequence[str]) -> set[str]:
        await trio.lowlevel.checkpoint()
        return self._known_tags.intersection(tags)
