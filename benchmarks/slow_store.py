"""A slow store must not slow ingestion until the store writer's bound is reached, and
must then slow it down instead of losing anything.

Runs the whole server in this process with trio (`Server` built from `parse_config`),
twice on the same payload (N series x K points of carbon history at 10 s, over C TCP
connections, sent from threads): once with the memory store, once with the memory store
wrapped so that every write first sleeps `--delay` seconds (a store that is slow but never
fails). The wrapper is put in place of the store the server builds, before `run`, so the
writer, the index rebuild and the reader all use it. Each run prints the points/s counted
by the engine and a timeline of points and snapshots buffered and waiting; the writer is
watched so the buffer's fill when the engine first had to wait is known.

Verdicts: with the slow store, ingestion up to the first wait runs at >= 90% of the memory
store's rate over the same points; the first wait comes only once the buffer holds
`writer.max_buffered` (the server's default, 1,000,000, unless `--max-buffered` says
otherwise); and once every point is counted and the server stopped (a clean stop waits
for the slow store), no snapshot is left unwritten.

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
from cyanite_py.model import Aggregate, Resolution, Series, SnapshotBatch
from cyanite_py.server import Server
from cyanite_py.store.base import Store, StoreWithEvents
from cyanite_py.store.writer import StoreWriter, StoreWriterConfig

TIMELINE_ROWS = 12


class SlowStore:
    """Another store whose every write first sleeps: slow, never failing."""

    def __init__(self, inner: StoreWithEvents, delay: float) -> None:
        self._inner = inner
        self._delay = delay
        self.events = inner.events

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self._inner.run(task_status=task_status)

    async def write(self, batch: SnapshotBatch) -> None:
        await trio.sleep(self._delay)
        await self._inner.write(batch)

    async def read(
        self,
        paths: Sequence[str],
        resolution: Resolution,
        start: int,
        end: int,
        aggregate: Aggregate,
    ) -> dict[str, Series]:
        return await self._inner.read(paths, resolution, start, end, aggregate)

    async def load_paths(self) -> list[str]:
        return await self._inner.load_paths()

    async def load_paths_since(self, cursor: int) -> tuple[list[str], int]:
        return await self._inner.load_paths_since(cursor)


@dataclass
class FirstWait:
    """The buffer when the engine first waited for room: held, and offered."""

    held: int
    offered: int


class WatchedWriter(StoreWriter):
    """The server's writer, noting the buffer's fill at the first submit that waits."""

    def __init__(self, config: StoreWriterConfig, store: Store, registry: Registry) -> None:
        super().__init__(config, store, registry)
        self.first_wait: FirstWait | None = None

    async def submit(self, batch: SnapshotBatch) -> None:
        if self.first_wait is None and self.buffered >= self.config.max_buffered:
            self.first_wait = FirstWait(self.buffered, len(batch))
        await super().submit(batch)


@dataclass
class Run:
    """What one run saw: (seconds, points, buffered, waiting) samples and the totals."""

    samples: list[tuple[float, int, int, int]] = field(default_factory=list)
    seconds: float = 0.0
    first_wait: FirstWait | None = None
    counts: dict[str, int] = field(default_factory=dict)
    unwritten: int = 0

    def seconds_to(self, points: int) -> float:
        """When the engine had counted at least `points` points."""
        return next(t for t, counted, _, _ in self.samples if counted >= points)

    def points_at_first_wait(self) -> int:
        return next(counted for _, counted, _, waiting in self.samples if waiting)


def build_server(config: Any, delay: float | None) -> tuple[Server, WatchedWriter]:
    """The server with its writer watched and, given a delay, its store made slow."""
    build_store = server_module.build_store

    def slow_store(store_config: Any, registry: Registry) -> StoreWithEvents:
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
                        writer.unwritten() - writer.buffered,
                    )
                )
                if counted >= total:
                    break
                await trio.sleep(0.02)
        run.seconds = time.perf_counter() - began
        server.stop()
    run.first_wait = writer.first_wait
    run.counts = {
        name: registry.total(name) for name in ("snapshots_submitted", "snapshots_written")
    }
    run.unwritten = server.unwritten
    return run


def report(name: str, run: Run, total: int, max_buffered: int) -> None:
    print(f"{name}: {total / run.seconds:,.0f} points/s ({run.seconds:.2f} s); {load_average()}")
    step = max(1, len(run.samples) // TIMELINE_ROWS)
    shown = set(range(0, len(run.samples), step)) | {len(run.samples) - 1}
    waits = [i for i, sample in enumerate(run.samples) if sample[3]]
    if waits:
        shown |= {waits[0] - 1, waits[0]}
    print(f"  {'s':>6} {'points':>10} {'buffered':>10} {'waiting':>10}")
    for index in sorted(shown):
        seconds, counted, buffered, waiting = run.samples[index]
        print(f"  {seconds:>6.2f} {counted:>10,} {buffered:>10,} {waiting:>10,}")
    counts = run.counts
    print(
        f"  snapshots: {counts['snapshots_submitted']:,} submitted, "
        f"{counts['snapshots_written']:,} written, {run.unwritten:,} left unwritten at the stop"
    )
    if run.first_wait:
        wait = run.first_wait
        print(
            f"  first wait: the buffer held {wait.held:,} of max_buffered {max_buffered:,} "
            f"when {wait.offered:,} more came"
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
            "writer": {"max_buffered": args.max_buffered, "shutdown_timeout": 600},
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
    wait = slow.first_wait
    if wait is None:
        print("the slow store's buffer never filled: raise --delay or lower --max-buffered")
        return
    points = slow.points_at_first_wait()
    ratio = fast.seconds_to(points) / slow.seconds_to(points) * 100
    print(
        f"until the first wait ({points:,} points counted): slow store "
        f"{points / slow.seconds_to(points):,.0f} points/s, memory store "
        f"{points / fast.seconds_to(points):,.0f} points/s"
    )
    verdict("ingestion with a slow store, until its bound, vs memory", ratio, "%", ">=", 90)
    verdict("snapshots held at the first wait", wait.held, "snapshots", ">=", args.max_buffered)
    verdict("snapshots left unwritten by the slow store", slow.unwritten, "snapshots", "<=", 0)


if __name__ == "__main__":
    main()
