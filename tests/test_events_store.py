"""Events in every store: memory, SQLite and a real Cassandra, held to one suite."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from cyanite_py.counters import Registry
from cyanite_py.store.base import EventStore, StoreWithEvents
from cyanite_py.store.events import EventQuery, NewEvent
from cyanite_py.store.memory import MemoryStore, MemoryStoreConfig
from cyanite_py.store.sqlite.config import SqliteStoreConfig
from cyanite_py.store.sqlite.store import SqliteStore

DAY = 86400
T0 = 1_700_000_000.0


async def _started(nursery: trio.Nursery, store: StoreWithEvents) -> EventStore:
    await nursery.start(store.run)
    return store.events


@pytest.fixture(params=["memory", "sqlite", pytest.param("cassandra", marks=pytest.mark.cassandra)])
async def events(
    request: pytest.FixtureRequest, nursery: trio.Nursery, tmp_path: Path
) -> EventStore:
    """A running, empty store's events, of each kind in turn."""
    store: StoreWithEvents
    if request.param == "memory":
        store = MemoryStore(MemoryStoreConfig(), Registry())
    elif request.param == "sqlite":
        store = SqliteStore(SqliteStoreConfig(path=str(tmp_path / "events.db")), Registry())
    else:
        from cyanite_py.store.cassandra.store import CassandraStore
        from tests.fixtures_cassandra import store_config

        hosts = request.getfixturevalue("cassandra_hosts")
        keyspace = request.getfixturevalue("cassandra_keyspace")
        store = CassandraStore(store_config(hosts, keyspace), Registry())
    return await _started(nursery, store)


def new(when: float, what: str = "deploy", *tags: str, data: str = "") -> NewEvent:
    return NewEvent(when, what, data, tags)


async def test_an_added_event_is_read_back_by_its_id(events: EventStore) -> None:
    added = await events.add_event(new(T0 + 0.25, "release 1.2", "deploy", "web", data="notes"))
    assert added.id > 0
    assert await events.get_event(added.id) == added
    assert (added.when, added.what, added.data, added.tags) == (
        T0 + 0.25,
        "release 1.2",
        "notes",
        ("deploy", "web"),
    )
    assert await events.get_event(added.id + 1) is None


async def test_ids_are_distinct(events: EventStore) -> None:
    ids = {(await events.add_event(new(T0))).id for _ in range(20)}
    assert len(ids) == 20


async def test_a_query_takes_its_range_inclusively_in_time_order(events: EventStore) -> None:
    for when in (T0 + 30, T0 - 10, T0, T0 + 10, T0 + 5 * DAY, T0 - 40 * DAY):
        await events.add_event(new(when, f"at {when:.0f}"))
    found = await events.find_events(EventQuery(T0, T0 + 30, limit=100))
    assert [event.when for event in found] == [T0, T0 + 10, T0 + 30]
    everything = await events.find_events(EventQuery(0, T0 + 400 * DAY, limit=100))
    assert [event.when for event in everything] == sorted(event.when for event in everything)
    assert len(everything) == 6


async def test_a_query_stops_at_its_limit_oldest_first(events: EventStore) -> None:
    for day in range(40):  # more days than one round of day partitions
        await events.add_event(new(T0 + day * DAY))
    found = await events.find_events(EventQuery(0, T0 + 100 * DAY, limit=25))
    assert [event.when for event in found] == [T0 + day * DAY for day in range(25)]


async def test_events_at_one_time_come_in_order_of_id(events: EventStore) -> None:
    ids = [(await events.add_event(new(T0, str(n)))).id for n in range(5)]
    found = await events.find_events(EventQuery(T0, T0, limit=10))
    assert [event.id for event in found] == sorted(ids)


async def test_tags_select_any_or_all(events: EventStore) -> None:
    await events.add_event(new(T0, "a", "foo"))
    await events.add_event(new(T0 + 1, "b", "bar"))
    await events.add_event(new(T0 + 2, "c", "foo", "bar"))
    await events.add_event(new(T0 + 3, "d"))

    async def whats(tags: tuple[str, ...], match_all: bool) -> list[str]:
        query = EventQuery(0, T0 + 10, 100, tags, match_all)
        return [event.what for event in await events.find_events(query)]

    assert await whats(("foo",), True) == ["a", "c"]
    assert await whats(("foo", "bar"), True) == ["c"]
    assert await whats(("foo", "bar"), False) == ["a", "b", "c"]
    assert await whats(("foo", "nope"), True) == []
    assert await whats((), False) == ["a", "b", "c", "d"]


async def test_a_deleted_event_is_gone_but_its_tags_stay_known(events: EventStore) -> None:
    kept = await events.add_event(new(T0, "kept", "web"))
    gone = await events.add_event(new(T0 + 1, "gone", "db"))
    assert await events.delete_event(gone.id)
    assert not await events.delete_event(gone.id)
    assert await events.get_event(gone.id) is None
    assert await events.find_events(EventQuery(0, T0 + 10, 100)) == [kept]
    assert await events.find_events(EventQuery(0, T0 + 10, 100, ("db",))) == []
    assert await events.known_tags(["web", "db", "never"]) == {"web", "db"}
    assert await events.known_tags([]) == set()


async def test_text_is_kept_as_given(events: EventStore) -> None:
    text = "naïve 'quotes' \"double\" <b>&amp;</b>\nsecond line ✓"
    added = await events.add_event(new(T0, text, "ünï", data=text))
    assert await events.get_event(added.id) == added
