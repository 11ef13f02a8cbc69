"""A slow store must not slow ingestion until the store writer's buffer bound is reached.

Runs the whole server in this process with trio (`Server` built from `parse_config`),
twice on the same payload (N series x K points of carbon history at 10 s, over C TCP
connections, sent from threads): once with the memory store, once with the memory store
wrapped so that every write first sleeps `--delay` seconds (a store that is slow but never
fails). The wrapper is put in place of the store the server builds, before `run`, so the
writer, the index rebuild and the reader all use it. Each run prints the points/s counted
by the engine and a timeline of points, snapshots buffered and snapshots dropped; the
writer is watched so the exact buffer fill at the first `snapshots_dropped` is known.

Verdicts: with the slow store, ingestion up to the point where drops start runs at >= 90%
of the memory store's rate over the same points; and the first drop comes only when the
snapshots held plus those offered exceed `writer.max_buffered` (the server's default,
1,000,000, unless `--max-buffered` says otherwise). Once every point is counted the server
is stopped with a 1 s `writer.shutdown_timeout`: what the slow store still holds is not
waited for (the server logs that), as only ingestion is measured.

    .venv/bin/python benchmarks/slow_store.py [--delay 0.5] [--points 300] [--max-buffered N]
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import trio
from common import HOST, build_payloads, history_start, load_average, send_concurrently, verdict

import cyanite_py.server as server_module
from cyanite_py.config import parse_config
from cyanite_py.counters import Registry
from cyanite_py.model import Resolution, Series, SnapshotBatch
from cyanite_py.server import Server
from cyanite_py.store.base import Store
from cyanite_py.store.writer import StoreWriter, StoreWriterConfig

TIMELINE_ROWS = 12


class SlowStore:
    """Another store whose every write first sleeps: slow, never failing."""

    def __init__(self, inner: Store, delay: float) -> None:
        self._inner = inner
        self._delay = delay

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self._inner.run(task_status=task_status)

    async def write(self, batch: SnapshotBatch) -> None:
        await trio.sleep(self._delay)
        await self._inner.write(batch)

    async def read(
        self, paths: Sequence[str], resolution: Resolution, start: int, end: int, aggregate: str
    ) -> dict[str, Series]:
        return await self._inner.read(paths, resolution, start, end, aggregate)

    async def load_paths(self) -> list[str]:
        return await self._inner.load_paths()


@dataclass
class FirstDrop:
    """The buffer when the first snapshot was dropped: held before, offered, held after."""

    before: int
    offered: int
    after: int


class WatchedWriter(StoreWriter):
    """The server's writer, noting the buffer's fill at the first submit that drops."""

    def __init__(self, config: StoreWriterConfig, store: Store, registry: Registry) -> None:
        super().__init__(config, store, registry)
        self.watched_registry = registry
        self.first_drop: FirstDrop | None = None

    def submit(self, batch: SnapshotBatch) -> None:
        before = self.buffered
        super().submit(batch)
        if self.first_drop is None and self.watched_registry.total("snapshots_dropped"):
            self.first_drop = FirstDrop(before, len(batch), self.buffered)


@dataclass
class Run:
    """What one run saw: (seconds, points, buffered, dropped) samples and the totals."""

    samples: list[tuple[float, int, int, int]] = field(default_factory=list)
    seconds: float = 0.0
    first_drop: FirstDrop | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def seconds_to(self, points: int) -> float:
        """When the engine had counted at least `points` points."""
        return next(t for t, counted, _, _ in self.samples if counted >= points)


def build_server(config: Any, delay: float | None) -> tuple[Server, WatchedWriter]:
    """The server with its writer watched and, given a delay, its store made slow."""
    build_store = server_module.build_store

    def slow_store(store_config: Any, registry: Registry) -> Store:
        inner = build_store(store_config, registry)
        return inner if delay is None else SlowStore(inner, delay)

    with (
        mock.patch.object(server_module, "build_store", slow_store),
        mock.patch.object(server_module, "StoreWriter", WatchedWriter),
    ):
        server = Server(config)
    assert isinstance(server.writer, WatchedWriter)
    return server, server.writer


async def timed_run(config: Any, delay: float | None, payloads: Sequence[bytes], total: int) -> Run:
    server, writer = build_server(config, delay)
    registry = server.registry
    run = Run()
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(server.run)
        began = time.perf_counter()
        nursery.start_soon(
            trio.to_thread.run_sync, send_concurrently, bound.port("carbon"), payloads
        )
        with trio.fail_after(600):
            while True:
                counted = registry.total("engine_points")
                run.samples.append(
                    (
                        time.perf_counter() - began,
                        counted,
                        writer.buffered,
                        registry.total("snapshots_dropped"),
                    )
                )
                if counted >= total:
                    break
                await trio.sleep(0.02)
        run.seconds = time.perf_counter() - began
        server.stop()
    run.first_drop = writer.first_drop
    run.counts = {
        name: registry.total(name)
        for name in ("snapshots_submitted", "snapshots_written", "snapshots_dropped")
    }
    return run


def report(name: str, run: Run, total: int, max_buffered: int) -> None:
    print(f"{name}: {total / run.seconds:,.0f} points/s ({run.seconds:.2f} s); {load_average()}")
    step = max(1, len(run.samples) // TIMELINE_ROWS)
    shown = set(range(0, len(run.samples), step)) | {len(run.samples) - 1}
    drops = [i for i, sample in enumerate(run.samples) if sample[3]]
    if drops:
        shown |= {drops[0] - 1, drops[0]}
    print(f"  {'s':>6} {'points':>10} {'buffered':>10} {'dropped':>10}")
    for index in sorted(shown):
        seconds, counted, buffered, dropped = run.samples[index]
        print(f"  {seconds:>6.2f} {counted:>10,} {buffered:>10,} {dropped:>10,}")
    counts = run.counts
    print(
        f"  snapshots: {counts['snapshots_submitted']:,} submitted, "
        f"{counts['snapshots_written']:,} written, {counts['snapshots_dropped']:,} dropped"
    )
    if run.first_drop:
        drop = run.first_drop
        print(
            f"  first drop: the buffer held {drop.before:,} of max_buffered {max_buffered:,} "
            f"when {drop.offered:,} more came; it then held {drop.after:,}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--delay", type=float, default=0.5, help="seconds slept per write")
    parser.add_argument("--max-buffered", type=int, default=StoreWriterConfig().max_buffered)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="  log: %(message)s")
    total = args.series * args.points
    payloads = build_payloads(
        args.series, args.points, args.connections, history_start(args.points)
    )
    config = parse_config(
        {
            "input": [{"type": "carbon", "host": HOST, "port": 0}],
            "api": {"host": HOST, "port": 0},
            "store": {"type": "memory"},
            "engine": {"rules": {"default": ["10s:1d", "5m:30d"]}},
            "reporter": {"enabled": False},
            "writer": {"max_buffered": args.max_buffered, "shutdown_timeout": 1},
        }
    )
    print(
        f"payload: {args.series:,} series x {args.points} points = {total:,} points over "
        f"{args.connections} connections; writer.max_buffered {args.max_buffered:,}, "
        f"writer.max_batch {config.writer.max_batch:,}"
    )
    fast = trio.run(timed_run, config, None, payloads, total)
    report("memory store", fast, total, args.max_buffered)
    slow = trio.run(timed_run, config, args.delay, payloads, total)
    report(f"memory store sleeping {args.delay} s per write", slow, total, args.max_buffered)
    drop = slow.first_drop
    if drop is None:
        print("the slow store's buffer never overflowed: raise --delay or lower --max-buffered")
        return
    # the engine's count when drops started, and how long each run took to reach it
    points = next(counted for _, counted, _, dropped in slow.samples if dropped)
    ratio = fast.seconds_to(points) / slow.seconds_to(points) * 100
    print(
        f"until drops started ({points:,} points counted): slow store "
        f"{points / slow.seconds_to(points):,.0f} points/s, memory store "
        f"{points / fast.seconds_to(points):,.0f} points/s"
    )
    verdict("ingestion with a slow store, until its bound, vs memory", ratio, "%", ">=", 90)
    verdict(
        "snapshots held + offered at the first drop",
        drop.before + drop.offered,
        "snapshots",
        ">",
        args.max_buffered,
    )


if __name__ == "__main__":
    main()
