"""The store writer against a real memory store, with a wrapper that makes writes fail."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
import trio
import trio.testing

from cyanite_py.counters import Registry
from cyanite_py.model import Aggregate, Resolution, Series, SnapshotBatch
from cyanite_py.store.base import StoreUnavailable
from cyanite_py.store.memory import MemoryStore, MemoryStoreConfig
from cyanite_py.store.writer import StoreWriter, StoreWriterConfig
from tests.builders import batch_of
from tests.store_contract import BASE, FINE, NOW, snap


class FailingStore:
    """A memory store whose next `failures` writes raise, and which records write times."""

    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.inner = MemoryStore(MemoryStoreConfig(), Registry())
        self.failures = failures
        self.error = error or StoreUnavailable("store away")
        self.attempts: list[float] = []
        self.sizes: list[int] = []

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self.inner.run(task_status=task_status)

    async def write(self, batch: SnapshotBatch) -> None:
        self.attempts.append(trio.current_time())
        if self.failures:
            self.failures -= 1
            raise self.error
        self.sizes.append(len(batch))
        await self.inner.write(batch)

    async def read(
        self,
        paths: Sequence[str],
        resolution: Resolution,
        start: int,
        end: int,
        aggregate: Aggregate,
    ) -> dict[str, Series]:
        return await self.inner.read(paths, resolution, start, end, aggregate)

    async def load_paths(self) -> list[str]:
        return await self.inner.load_paths()

    async def load_paths_since(self, cursor: int) -> tuple[list[str], int]:
        return await self.inner.load_paths_since(cursor)


def make_batch(path: str, windows: int, new: bool = False) -> SnapshotBatch:
    return batch_of(
        (snap(path, BASE + 10 * i, total=float(i)) for i in range(windows)), [path] if new else []
    )


async def stored_count(store: FailingStore, path: str) -> int:
    found = await store.read([path], FINE, BASE, NOW, Aggregate.COUNT)
    return int(np.count_nonzero(~np.isnan(found[path].values))) if path in found else 0


def test_config_defaults_and_validation() -> None:
    config = StoreWriterConfig()
    assert (config.max_buffered, config.max_batch, config.shutdown_timeout) == (
        1_000_000,
        1_000_000,
        30,
    )
    with pytest.raises(ValueError, match="max_batch"):
        StoreWriterConfig(max_batch=0)
    with pytest.raises(ValueError, match="retry_max must be at least retry_initial"):
        StoreWriterConfig(retry_initial=5.0, retry_max=1.0)
    assert StoreWriterConfig(shutdown_timeout="1m").shutdown_timeout == 60  # type: ignore[arg-type]


def test_split_keeps_new_paths_with_the_head() -> None:
    head, rest = make_batch("s", 5, new=True).split(2)
    assert (len(head), len(rest), head.new_paths, rest.new_paths) == (2, 3, ["s"], [])
    assert rest.times.tolist() == [BASE + 20, BASE + 30, BASE + 40]


async def test_writes_what_is_submitted(autojump_clock: trio.testing.MockClock) -> None:
    store = FailingStore()
    registry = Registry()
    writer = StoreWriter(StoreWriterConfig(), store, registry)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        await writer.submit(make_batch("w.one", 3, new=True))
        await writer.submit(make_batch("w.two", 4))
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert await stored_count(store, "w.one") == 3
    assert await stored_count(store, "w.two") == 4
    assert await store.load_paths() == ["w.one", "w.two"]
    assert registry.value("snapshots_submitted") == 7
    assert registry.value("snapshots_written") == 7
    assert writer.buffered == 0


async def test_retries_deliver_everything(autojump_clock: trio.testing.MockClock) -> None:
    store = FailingStore(failures=5)
    registry = Registry()
    config = StoreWriterConfig(retry_initial=1.0, retry_max=4.0)
    writer = StoreWriter(config, store, registry)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        start = trio.current_time()
        await writer.submit(make_batch("r", 10, new=True))
        await trio.sleep(60)
        nursery.cancel_scope.cancel()
    gaps = [round(b - a, 6) for a, b in zip(store.attempts, store.attempts[1:], strict=False)]
    assert store.attempts[0] == start
    assert gaps == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert await stored_count(store, "r") == 10
    assert await store.load_paths() == ["r"]
    assert registry.value("store_write_retries") == 5
    assert registry.value("store_write_errors", error="StoreUnavailable") == 5
    assert registry.value("snapshots_written") == 10
    assert writer.unwritten() == 0


async def test_any_store_error_is_retried(autojump_clock: trio.testing.MockClock) -> None:
    store = FailingStore(failures=2, error=OSError("disk full"))
    registry = Registry()
    writer = StoreWriter(StoreWriterConfig(), store, registry)
    await writer.submit(make_batch("os", 2))
    await writer.drain()
    assert await stored_count(store, "os") == 2
    assert registry.value("store_write_errors", error="OSError") == 2


async def test_a_full_buffer_makes_submit_wait_and_loses_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FailingStore(failures=1_000_000)
    registry = Registry()
    writer = StoreWriter(StoreWriterConfig(max_buffered=25, max_batch=10), store, registry)
    submitted: list[str] = []

    async def submit_all() -> None:
        for name in ("o.one", "o.two", "o.three", "o.four"):
            await writer.submit(make_batch(name, 10, new=name in ("o.three", "o.four")))
            submitted.append(name)

    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        nursery.start_soon(submit_all)
        await trio.sleep(5)
        assert submitted == ["o.one", "o.two", "o.three"], "the fourth waits for room"
        assert (writer.buffered, writer.unwritten()) == (30, 40)
        assert registry.value("store_buffer_full_waits") == 1
        gauges = {name: value for name, _, _, value, _ in registry.samples()}
        assert gauges["store_buffer_snapshots"] == 30
        assert gauges["store_buffer_waiting_snapshots"] == 10
        store.failures = 0
        await trio.sleep(60)
        nursery.cancel_scope.cancel()
    assert submitted == ["o.one", "o.two", "o.three", "o.four"]
    for name in submitted:
        assert await stored_count(store, name) == 10
    assert await store.load_paths() == ["o.four", "o.one", "o.three", "o.two"]
    assert registry.value("snapshots_written") == 40
    assert writer.unwritten() == 0


async def test_a_wait_cancelled_at_shutdown_stays_counted_as_unwritten(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FailingStore(failures=1_000_000)
    writer = StoreWriter(StoreWriterConfig(max_buffered=10), store, Registry())
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        await writer.submit(make_batch("u.one", 10))
        with trio.move_on_after(5):
            await writer.submit(make_batch("u.two", 7))
        nursery.cancel_scope.cancel()
    assert writer.unwritten() == 17


async def test_small_batches_coalesce_and_big_ones_split(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FailingStore()
    writer = StoreWriter(StoreWriterConfig(max_batch=100), store, Registry())
    for i in range(30):
        await writer.submit(make_batch(f"c{i}", 10))
    await writer.submit(make_batch("huge", 250))
    await writer.drain()
    assert store.sizes == [100, 100, 100, 100, 100, 50]
    assert await stored_count(store, "huge") == 250


async def test_drain_writes_everything_after_run_was_cancelled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FailingStore(failures=3)
    registry = Registry()
    writer = StoreWriter(StoreWriterConfig(max_batch=5), store, registry)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        await writer.submit(make_batch("d.one", 8))
        await writer.submit(make_batch("d.two", 8, new=True))
        await trio.sleep(0.15)
        nursery.cancel_scope.cancel()
    assert writer.buffered == 16
    with trio.fail_after(StoreWriterConfig().shutdown_timeout):
        await writer.drain()
    assert writer.buffered == 0
    assert await stored_count(store, "d.one") == 8
    assert await stored_count(store, "d.two") == 8
    assert registry.value("snapshots_written") == 16


async def test_drain_alongside_run(autojump_clock: trio.testing.MockClock) -> None:
    store = FailingStore(failures=2)
    writer = StoreWriter(StoreWriterConfig(max_batch=3), store, Registry())
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for i in range(10):
            await writer.submit(make_batch(f"a{i}", 2))
        await writer.drain()
        assert writer.buffered == 0
        nursery.cancel_scope.cancel()
    assert sum(store.sizes) == 20


async def test_submit_waits_only_once_the_bound_is_reached(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FailingStore(failures=1_000)
    writer = StoreWriter(StoreWriterConfig(max_buffered=1000), store, Registry())
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        before = trio.current_time()
        for i in range(100):
            await writer.submit(make_batch(f"f{i}", 10))
        assert trio.current_time() == before
        assert writer.buffered == 1000
        nursery.cancel_scope.cancel()


async def test_empty_batches_are_ignored() -> None:
    store = FailingStore()
    writer = StoreWriter(StoreWriterConfig(), store, Registry())
    await writer.submit(SnapshotBatch())
    await writer.drain()
    assert store.attempts == []
