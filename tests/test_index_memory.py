"""The memory index against the shared index contract."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing

from cyanite_py.counters import Registry
from cyanite_py.index.memory import MemoryIndex, MemoryIndexConfig
from cyanite_py.store.base import StoreUnavailable
from tests.index_contract import IndexContract


@pytest.fixture
async def index(nursery: trio.Nursery) -> AsyncIterator[MemoryIndex]:
    # The contract finds 250,000 leaves in one glob, past the default bound.
    index = MemoryIndex(MemoryIndexConfig(max_matches=300_000), Registry())
    await nursery.start(index.run)
    yield index


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
