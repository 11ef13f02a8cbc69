"""Paths read back from the store are added a step at a time, so a refresh that reads
millions (every path a filling server wrote) does not hold the event loop meanwhile."""

from __future__ import annotations

import trio

from cyanite_py.counters import Registry
from cyanite_py.index.memory import STEP_PATHS, MemoryIndex, MemoryIndexConfig
from cyanite_py.model import SnapshotBatch
from cyanite_py.store.memory import MemoryStore, MemoryStoreConfig

PATHS = [f"farm.host{h:03d}.metric{m:03d}" for h in range(100) for m in range(500)]


async def test_a_refresh_adds_in_steps_and_counts_only_what_it_learned() -> None:
    assert len(PATHS) > 2 * STEP_PATHS
    store = MemoryStore(MemoryStoreConfig(), Registry())
    registry = Registry()
    index = MemoryIndex(MemoryIndexConfig(), registry, store.load_paths, store.load_paths_since)
    await index.refresh()  # an empty store: the cursor stays at the start
    await store.write(SnapshotBatch(new_paths=PATHS))
    index.add(PATHS[:1000])  # as the engine adds the paths it takes itself
    seen: set[int] = set()
    done = trio.Event()

    async def watch() -> None:
        while not done.is_set():
            seen.add(index.paths())
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch)
        await index.refresh()
        done.set()
    assert any(1000 < count < len(PATHS) for count in seen)  # the loop ran between steps
    assert index.paths() == len(PATHS)
    assert registry.value("index_paths_learned") == len(PATHS) - 1000
    assert len(index.find_now("farm.*.metric042")) == 100
