"""Snapshots written per second by the Cassandra store to a running Cassandra.

Creates a keyspace of its own, writes `batches` flushes shaped like the engine's (every
path at one window time, both resolutions), reads every path back, and drops the keyspace.
Start a local node first with `scripts/services start cassandra`.

    .venv/bin/python benchmarks/store_write_cassandra.py [--hosts 127.0.0.1:9042]
        [--paths 10000] [--batches 10] [--max-in-flight 64]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import trio
from cassandra_bench import bench_config, bench_store
from common import STORE_RESOLUTIONS, stored_windows, write_all

from cyanite_py.counters import Registry
from cyanite_py.model import Aggregate
from cyanite_py.store.cassandra.config import CassandraStoreConfig

KEYSPACE = f"bench_{os.getpid()}"


async def bench(config: CassandraStoreConfig, paths_count: int, batches: int) -> bool:
    """Run and print the figures; False when Cassandra cannot be reached."""
    now = int(time.time())
    base = now - now % 3600 - 3600 * 2
    paths = [f"bench.host{i // 100:03d}.metric{i % 100:02d}" for i in range(paths_count)]
    registry = Registry()
    async with bench_store(config, registry) as store:
        if store is None:
            return False
        rate = await write_all(store, paths, batches, base)
        started = time.perf_counter()
        for resolution in STORE_RESOLUTIONS:
            found = await store.read(paths, resolution, base, now, Aggregate.COUNT)
            assert stored_windows(found) == paths_count * batches
        read = len(STORE_RESOLUTIONS) * paths_count / (time.perf_counter() - started)
    total = len(STORE_RESOLUTIONS) * paths_count * batches
    print(f"{paths_count} paths x {len(STORE_RESOLUTIONS)} resolutions x {batches} windows")
    print(f"  {total} snapshots in {batches} batches of {total // batches}")
    print(f"  write     : {rate:,.0f} snapshots/s (max_in_flight {config.max_in_flight})")
    print(f"  read back : {read:,.0f} paths/s ({batches} windows each)")
    print(f"  requests  : {registry.total('store_cassandra_statements')} statements sent")
    print(f"  rerun     : .venv/bin/python {' '.join(sys.argv)}")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default=os.environ.get("CASSANDRA_HOSTS", "127.0.0.1:9042"))
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--max-in-flight", type=int, default=CassandraStoreConfig().max_in_flight)
    args = parser.parse_args()
    config = bench_config(args.hosts, KEYSPACE, max_in_flight=args.max_in_flight)
    if not trio.run(bench, config, args.paths, args.batches):
        sys.exit(1)


if __name__ == "__main__":
    main()
