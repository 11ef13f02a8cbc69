"""The memory index against the shared index contract."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from cyanite_py.counters import Registry
from cyanite_py.index.memory import MemoryIndex, MemoryIndexConfig
from cyanite_py.model import SnapshotBatch
from cyanite_py.store.base import StoreUnavailable
from cyanite_py.store.memory import MemoryStore, MemoryStoreConfig
from tests.index_contract import IndexContract


@pytest.fixture
async def index(nursery: trio.Nursery) -> MemoryIndex:
    # The contract finds 250,000 leaves in one glob, past the default bound.
    index = MemoryIndex(MemoryIndexConfig(max_matches=300_000), Registry())
    await nursery.start(index.run)
    return index


class TestMemoryIndex(IndexContract):
    pass


async def test_a_store_away_at_start_delays_the_rebuild_not_the_start(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store_back = trio.Event()

    async def load_paths() -> list[str]:
        if not store_back.is_set():
            raise StoreUnavailable("connection refused")
        return ["kept.a", "kept.b"]

    registry = Registry()
    index = MemoryIndex(MemoryIndexConfig(), registry, load_paths)
    async with trio.open_nursery() as nursery:
        await nursery.start(index.run)
        assert await index.find("kept.*") == []
        index.add(["new.one"])
        await trio.sleep(10)
        failures = registry.value("index_rebuild_failures")
        assert failures >= 2
        store_back.set()
        await trio.sleep(60)
        assert [node.path for node in await index.find("*.*")] == ["kept.a", "kept.b", "new.one"]
        assert registry.value("index_rebuild_failures") >= failures
        nursery.cancel_scope.cancel()


async def test_paths_another_server_wrote_are_learned_every_refresh_interval(
    autojump_clock: trio.testing.MockClock,
) -> None:
    shared = MemoryStore(MemoryStoreConfig(), Registry())
    await shared.write(SnapshotBatch(new_paths=["mine.a"]))
    registry = Registry()
    index = MemoryIndex(
        MemoryIndexConfig(refresh_interval=10), registry, shared.load_paths, shared.load_paths_since
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(index.run)
        assert [node.path for node in index.find_now("*.*")] == ["mine.a"]
        await shared.write(SnapshotBatch(new_paths=["theirs.b", "theirs.c"]))
        await trio.sleep(9)  # find_now: a glob walked in a thread would let the clock jump
        assert [node.path for node in index.find_now("theirs.*")] == []
        await trio.sleep(2)
        assert sorted(node.path for node in index.find_now("theirs.*")) == ["theirs.b", "theirs.c"]
        assert registry.value("index_paths_learned") == 2
        assert registry.value("index_refreshes") == 1
        assert registry.value("index_refresh_failures") == 0
        nursery.cancel_scope.cancel()


async def test_a_refresh_while_the_store_is_away_is_counted_and_tried_again() -> None:
    away = True

    async def paths_since(cursor: int) -> tuple[list[str], int]:
        if away and cursor:
            raise StoreUnavailable("connection refused")
        return (["late.a"] if cursor else []), cursor + 1

    registry = Registry()
    index = MemoryIndex(MemoryIndexConfig(), registry, None, paths_since)
    async with trio.open_nursery() as nursery:
        await nursery.start(index.run)
        await index.refresh()
        assert registry.value("index_refresh_failures") == 1
        away = False
        await index.refresh()
        assert [node.path for node in await index.find("late.*")] == ["late.a"]
        nursery.cancel_scope.cancel()
