"""Snapshots written per second by the SQLite store, and the process's peak memory.

Writes `paths` x 2 resolutions x `windows` snapshots in batches shaped like the engine's
flushes (every path at one window time), then writes them all again (each window merges),
then reads every path back.

    .venv/bin/python benchmarks/store_write.py [--paths 10000] [--windows 50] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import trio
from common import STORE_RESOLUTIONS, stored_windows, write_all

from cyanite_py.counters import Registry
from cyanite_py.model import Aggregate
from cyanite_py.store.sqlite.config import SqliteStoreConfig
from cyanite_py.store.sqlite.store import SqliteStore


def peak_rss() -> float:
    """The process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def bench(directory: Path, paths_count: int, windows: int) -> None:
    now = int(time.time())
    base = now - now % 3600 - 3600
    paths = [f"bench.host{i // 100:03d}.metric{i % 100:02d}" for i in range(paths_count)]
    config = SqliteStoreConfig(path=str(directory / "bench.db"))
    async with trio.open_nursery() as nursery:
        store = SqliteStore(config, Registry())
        await nursery.start(store.run)
        first = await write_all(store, paths, windows, base)
        again = await write_all(store, paths, windows, base)
        write_rss = peak_rss()
        started = time.perf_counter()
        for resolution in STORE_RESOLUTIONS:
            found = await store.read(paths, resolution, base, now, Aggregate.COUNT)
            assert stored_windows(found) == paths_count * windows
            del found
        read = len(STORE_RESOLUTIONS) * paths_count * windows / (time.perf_counter() - started)
        nursery.cancel_scope.cancel()
    size = sum([(await f.stat()).st_size for f in await trio.Path(directory).glob("bench.db*")])
    total = len(STORE_RESOLUTIONS) * paths_count * windows
    print(f"{paths_count} paths x {len(STORE_RESOLUTIONS)} resolutions x {windows} windows")
    print(f"  {total} snapshots in {windows} batches of {total // windows}")
    print(f"  first write : {first:,.0f} snapshots/s")
    print(f"  rewrite     : {again:,.0f} snapshots/s (every window merged)")
    print(f"  read back   : {read:,.0f} windows/s (all paths in one read per resolution)")
    print(f"  files       : {size / 2**20:.1f} MiB")
    print(f"  peak RSS    : {write_rss:.0f} MiB after writing, {peak_rss():.0f} MiB after reading")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--windows", type=int, default=50)
    parser.add_argument("--dir", type=Path, help="where to put the database (default: a temp dir)")
    args = parser.parse_args()
    if args.dir:
        os.makedirs(args.dir, exist_ok=True)
        trio.run(bench, args.dir, args.paths, args.windows)
    else:
        with tempfile.TemporaryDirectory() as directory:
            trio.run(bench, Path(directory), args.paths, args.windows)


if __name__ == "__main__":
    main()
