"""The memory store: the shared contract, plus merging and expiry."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from cyanite_py.counters import Registry
from cyanite_py.store.memory import MemoryStore, MemoryStoreConfig
from tests.store_contract import BASE, FINE, StoreContract, batch, read_one, rows, snap


@pytest.fixture
async def store(nursery: trio.Nursery) -> MemoryStore:
    store = MemoryStore(MemoryStoreConfig(), Registry())
    await nursery.start(store.run)
    return store


class TestMemoryStore(StoreContract):
    async def test_rewritten_window_merges(self, store: MemoryStore) -> None:
        await store.write(batch(snap("m", BASE, count=2, total=4.0, low=1.0, high=3.0)))
        await store.write(batch(snap("m", BASE, count=1, total=5.0, low=5.0, high=5.0)))
        assert rows(await read_one(store, "m")) == [(BASE, 3.0, 9.0, 1.0, 5.0)]


class FakeClock:
    """Wall-clock seconds the test sets by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_config_defaults_and_validation() -> None:
    assert MemoryStoreConfig().expire_interval == 60
    assert MemoryStoreConfig(expire_interval="5m").expire_interval == 300  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a duration: 'soon'"):
        MemoryStoreConfig(expire_interval="soon")  # type: ignore[arg-type]


async def test_windows_expire_after_their_period() -> None:
    clock = FakeClock(BASE)
    registry = Registry()
    store = MemoryStore(MemoryStoreConfig(), registry, clock=clock)
    await store.write(batch(snap("e", BASE - FINE.period), snap("e", BASE - FINE.period + 10)))
    assert store.expire() == 0
    clock.now = BASE + 10
    assert store.expire() == 1
    assert rows(await read_one(store, "e", start=BASE - 2 * FINE.period)) == [
        (BASE - FINE.period + 10, 1.0, 1.0, 1.0, 1.0)
    ]
    assert registry.value("store_snapshots_expired", store="memory") == 1
    assert await store.load_paths() == ["e"]


async def test_run_expires_periodically(autojump_clock: trio.testing.MockClock) -> None:
    clock = FakeClock(BASE)
    store = MemoryStore(MemoryStoreConfig(expire_interval=60), Registry(), clock=clock)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        await store.write(batch(snap("e", BASE - FINE.period + 10)))
        clock.now = BASE + 60
        await trio.sleep(61)
        assert len(await read_one(store, "e", start=BASE - 2 * FINE.period)) == 0
        nursery.cancel_scope.cancel()
