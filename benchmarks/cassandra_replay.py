"""A replayed day through the store writer into Cassandra, then the reads dashboards make.

Writes `--series` series x one day of 10 s windows (and their 1 min windows, rules
`10s:1d, 1m:30d`) as the engine hands them over during a replay: one batch per 10 s step
holding every series, submitted to a `StoreWriter` as fast as it takes them, so the
writer coalesces what the store has not written yet. Prints the sustained rate until the
last snapshot is written. Then, through the real HTTP app over the Cassandra store:
`/render` sumSeries over every series for the day, `/render` of one series for the day,
and `/metrics` for 100 paths over the last hour (medians of `--requests`).

Uses a keyspace of its own, dropped afterwards. Start a node first with
`scripts/services start cassandra`.

    .venv/bin/python benchmarks/cassandra_replay.py [--hosts 127.0.0.1:9042]
        [--series 1000] [--requests 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

import httpx
import numpy as np
import trio
from cassandra_bench import bench_config, bench_store
from common import p95

from cyanite_py.api.app import build_app
from cyanite_py.counters import Registry
from cyanite_py.engine import DriftConfig, Engine, EngineConfig
from cyanite_py.index.memory import MemoryIndex, MemoryIndexConfig
from cyanite_py.model import PathTable, PointBatch, Resolution, SnapshotBatch
from cyanite_py.query import Reader
from cyanite_py.store.cassandra.config import CassandraStoreConfig
from cyanite_py.store.cassandra.store import CassandraStore
from cyanite_py.store.writer import StoreWriter, StoreWriterConfig

KEYSPACE = f"replay_{os.getpid()}"
FINE = Resolution(10, 86400)
COARSE = Resolution(60, 30 * 86400)
DAY = 86400


def step_batch(table: PathTable, t: int, resolution: Resolution, step: int) -> SnapshotBatch:
    """Every series' window at `t`: what the engine flushes when a replay passes it."""
    n = len(table.names)
    values = np.sin(t / 3600 + np.arange(n)) * 100 + np.arange(n)
    count = resolution.precision // 10
    return SnapshotBatch(
        table,
        np.arange(n, dtype=np.int64),
        np.full(n, resolution.precision),
        np.full(n, resolution.period),
        np.full(n, t),
        np.full(n, count),
        values * count,
        values - 1,
        values + 1,
        list(table.names) if step == 0 else [],
    )


async def replay(store: CassandraStore, paths: list[str], now: int, registry: Registry) -> float:
    """Snapshots per second from the first submit to the last write."""
    writer = StoreWriter(StoreWriterConfig(), store, registry)
    table = PathTable(paths)
    first = now - now % 60 - DAY
    submitted = 0
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        started = time.perf_counter()
        for step in range(DAY // FINE.precision):
            t = first + step * FINE.precision
            batches = [step_batch(table, t, FINE, step)]
            if t % COARSE.precision == COARSE.precision - FINE.precision:
                batches.append(step_batch(table, t - t % COARSE.precision, COARSE, 1))
            for batch in batches:
                await writer.submit(batch)
                submitted += len(batch)
        await writer.drain()
        elapsed = time.perf_counter() - started
        nursery.cancel_scope.cancel()
    return submitted / elapsed


async def latencies(requests: int, call: Callable[[], Awaitable[httpx.Response]]) -> list[float]:
    """Milliseconds of each call after a first one that warms up."""
    out = []
    for attempt in range(requests + 1):
        started = time.perf_counter()
        response = await call()
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text
        if attempt:
            out.append(elapsed * 1000)
    return out


async def bench(config: CassandraStoreConfig, series: int, requests: int) -> bool:
    registry = Registry()
    paths = [f"replay.host{i // 100:03d}.metric{i % 100:02d}" for i in range(series)]
    now = int(time.time())
    async with bench_store(config, registry) as store:
        if store is None:
            return False
        rate = await replay(store, paths, now, registry)
        written_rows = registry.value("store_cassandra_rows", op="write")
        write_requests = registry.value("store_cassandra_statements", op="write")
        figures = await reads(store, paths, registry, requests)
    print(f"{series} series x 1 day, rules 10s:1d, 1m:30d, through the store writer")
    print(f"  write     : {rate:,.0f} snapshots/s sustained")
    print(f"  rows      : {written_rows:,.0f} rows in {write_requests:,.0f} requests")
    for name, values in figures.items():
        print(f"  {name:<34}: median {statistics.median(values):7.1f} ms, p95 {p95(values):7.1f}")
    print(f"  rerun     : .venv/bin/python {' '.join(sys.argv)}")
    return True


async def reads(
    store: CassandraStore, paths: list[str], registry: Registry, requests: int
) -> dict[str, list[float]]:
    """Latencies of the dashboard reads, through the real app."""
    index = MemoryIndex(MemoryIndexConfig(), registry)
    index.add(paths)
    _, receive = trio.open_memory_channel[PointBatch](1)
    engine = Engine(
        EngineConfig(rules={"default": [FINE, COARSE]}),
        DriftConfig(),
        receive,
        store.write,
        index.add,
        registry,
    )
    reader = Reader(store, index, engine)
    transport = httpx.ASGITransport(app=build_app(reader, registry))
    render = {"from": "-1d", "until": "now", "format": "json", "maxDataPoints": "1000"}
    hundred = paths[:100]
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        every = {**render, "target": "sumSeries(replay.*.*)"}
        one = {**render, "target": paths[0]}
        metrics = (*(("path", path) for path in hundred), ("from", "-1h"), ("agg", "mean"))
        return {
            f"/render sumSeries {len(paths)} x 1 day": await latencies(
                requests, lambda: client.post("/render", data=every)
            ),
            "/render one series x 1 day": await latencies(
                requests, lambda: client.post("/render", data=one)
            ),
            "/metrics 100 paths x 1 h": await latencies(
                requests, lambda: client.get("/metrics", params=metrics)
            ),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default=os.environ.get("CASSANDRA_HOSTS", "127.0.0.1:9042"))
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=7)
    args = parser.parse_args()
    config = bench_config(args.hosts, KEYSPACE)
    if not trio.run(bench, config, args.series, args.requests):
        sys.exit(1)


if __name__ == "__main__":
    main()
