"""Live-shaped writes into Cassandra, then reads before and after the store folds blocks.

A live server writes every few seconds: each write holds one part of the open window of
every series (a checkpoint) at each resolution, so each write adds a row to every block.
Writes `--hours` of such parts (every 5 s, rules `10s:1d, 1m:30d`) for `--series`
series, `--ticks-per-write` checkpoints a `store.write` (1: a store that keeps up; 6: a
writer that writes every 30 s), timed; reads every series over those hours; folds the
blocks with enough parts; and reads again. Uses a keyspace of its own, dropped
afterwards.

    .venv/bin/python benchmarks/cassandra_live.py [--hosts 127.0.0.1:9042]
        [--series 1000] [--hours 1] [--ticks-per-write 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import trio
from cassandra_bench import bench_config, bench_store

from cyanite_py.counters import Registry
from cyanite_py.model import Aggregate, PathTable, Resolution, SnapshotBatch
from cyanite_py.store.cassandra.config import CassandraStoreConfig
from cyanite_py.store.cassandra.store import CassandraStore

KEYSPACE = f"live_{os.getpid()}"
RESOLUTIONS = (Resolution(10, 86400), Resolution(60, 30 * 86400))
TICK = 5


def tick_batch(table: PathTable, t: int) -> SnapshotBatch:
    """One checkpoint: a part of every series' open window at each resolution."""
    n = len(table.names)
    batches = []
    for resolution in RESOLUTIONS:
        values = np.arange(n, dtype=np.float64) + t % 97
        batches.append(
            SnapshotBatch(
                table,
                np.arange(n, dtype=np.int64),
                np.full(n, resolution.precision),
                np.full(n, resolution.period),
                np.full(n, t - t % resolution.precision),
                np.ones(n, dtype=np.int64),
                values,
                values,
                values,
            )
        )
    return SnapshotBatch.joined(batches)


async def timed_read(store: CassandraStore, paths: list[str], start: int, end: int) -> float:
    """Median milliseconds of three reads of every path's 10 s windows."""
    times = []
    for _ in range(3):
        began = time.perf_counter()
        await store.read(paths, RESOLUTIONS[0], start, end, Aggregate.MEAN)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


async def bench(config: CassandraStoreConfig, series: int, hours: float, per_write: int) -> bool:
    registry = Registry()
    paths = [f"live.host{i // 100:03d}.metric{i % 100:02d}" for i in range(series)]
    table = PathTable(paths)
    now = int(time.time())
    first = now - now % 3600 - int(hours * 3600)
    ticks = range(first, first + int(hours * 3600), TICK)
    async with bench_store(config, registry) as store:
        if store is None:
            return False
        began = time.perf_counter()
        for first_tick in range(0, len(ticks), per_write):
            parts = [tick_batch(table, t) for t in ticks[first_tick : first_tick + per_write]]
            await store.write(SnapshotBatch.joined(parts))
        written = time.perf_counter() - began
        rows = registry.value("store_cassandra_rows", op="write")
        before = await timed_read(store, paths, first, ticks[-1] + 1)
        began = time.perf_counter()
        folded = await store.fold_due(time.time())
        folding = time.perf_counter() - began
        after = await timed_read(store, paths, first, ticks[-1] + 1)
    snapshots = len(ticks) * series * len(RESOLUTIONS)
    print(f"{series} series x {hours:g} h of checkpoints every {TICK} s, 10s:1d and 1m:30d")
    print(
        f"  write       : {snapshots / written:,.0f} snapshots/s, {per_write} checkpoints a write"
    )
    print(f"  rows        : {rows:,.0f} written ({rows / snapshots:.2f} a snapshot)")
    print(f"  read before : {before:,.0f} ms for every series at 10 s over the span (median of 3)")
    print(f"  fold        : {folded:,} blocks in {folding:.1f} s")
    print(f"  read after  : {after:,.0f} ms (median of 3)")
    print(f"  rerun       : .venv/bin/python {' '.join(sys.argv)}")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default=os.environ.get("CASSANDRA_HOSTS", "127.0.0.1:9042"))
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=1)
    parser.add_argument("--ticks-per-write", type=int, default=1)
    args = parser.parse_args()
    config = bench_config(args.hosts, KEYSPACE)
    if not trio.run(bench, config, args.series, args.hours, args.ticks_per_write):
        sys.exit(1)


if __name__ == "__main__":
    main()
