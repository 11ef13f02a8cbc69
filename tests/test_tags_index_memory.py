"""The memory index against the shared tag contract, and what only it promises."""

from __future__ import annotations

import pytest
import trio
import trio.lowlevel

from cyanite_py.counters import Registry
from cyanite_py.index.memory import MemoryIndex, MemoryIndexConfig
from cyanite_py.model import SnapshotBatch
from cyanite_py.store.memory import MemoryStore, MemoryStoreConfig
from cyanite_py.tags import TagQuery
from tests.tags_contract import SERIES, UNTAGGED, TagIndexContract, brute_force


@pytest.fixture
async def index(nursery: trio.Nursery) -> MemoryIndex:
    index = MemoryIndex(MemoryIndexConfig(), Registry())
    await nursery.start(index.run)
    return index


class TestMemoryTagIndex(TagIndexContract):
    pass


async def test_tagged_paths_are_counted_with_the_others() -> None:
    registry = Registry()
    index = MemoryIndex(MemoryIndexConfig(), registry)
    index.add(SERIES + UNTAGGED)
    index.add(SERIES[:3])
    assert registry.value("index_paths_added") == len(SERIES) + len(UNTAGGED)
    assert registry.gauges[("index_paths", ())].read() == len(SERIES) + len(UNTAGGED)


async def test_tagged_paths_written_to_the_store_are_found_after_a_rebuild(
    nursery: trio.Nursery,
) -> None:
    store = MemoryStore(MemoryStoreConfig(), Registry())
    await store.write(SnapshotBatch(new_paths=[*SERIES, *UNTAGGED]))
    index = MemoryIndex(MemoryIndexConfig(), Registry(), paths_since=store.load_paths_since)
    await nursery.start(index.run)
    query = TagQuery.parse(["name=mem", "dc!=us"])
    assert await index.find_series(query, 1000) == brute_force(SERIES, query)
    assert [node.path for node in await index.find("*")] == ["cpu", "servers"]


async def test_a_tag_query_is_answered_while_paths_keep_arriving(index: MemoryIndex) -> None:
    """Queries run in worker threads while `add` runs on the loop: neither may break."""
    query = TagQuery.parse(["name=~load", "core!=0"])
    answers: list[int] = []

    async def ask() -> None:
        for _ in range(50):
            answers.append(len(await index.find_series(query, 10**9)))
            await index.autocomplete_values(query, "host", "h1", 100)

    async def add() -> None:
        for batch in range(200):
            index.add([f"load;core={core};host=h{batch:03d}" for core in range(4)])
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ask)
        nursery.start_soon(add)
    assert answers == sorted(answers)
    assert len(await index.find_series(query, 10**9)) == 600
