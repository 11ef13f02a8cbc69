"""Render target: `/render` of `sumSeries` over 1,000 series x one day at 10 s, over HTTP,
against a running server whose default SQLite store holds that day: median and p95 < 300 ms.

The day is written before the server starts, straight into the SQLite file through the
store's own class (`SqliteStore.write`, the call the server's writer makes): 8,640 windows
at 10s:1d and 288 at 5m:30d per series, ending at the last 5 minute boundary. That is much
quicker to set up than replaying the day over carbon, and leaves the same rows. Then
`cyanite-py serve` opens the file (rebuilding its memory index from it) and is asked as
Grafana's panel asks (form POST, `from=-1d`, `until=now`, `format=json`,
`maxDataPoints`): once to warm up, then `--requests` times over one kept-alive connection,
timed from the client.

    .venv/bin/python benchmarks/render_sqlite.py [--series 1000] [--requests 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import trio
from common import HOST, load_average, p95, running_server, verdict, wait_for

from cyanite_py.counters import Registry
from cyanite_py.model import PathTable, SnapshotBatch
from cyanite_py.store.sqlite.config import SqliteStoreConfig
from cyanite_py.store.sqlite.store import SqliteStore

DAY = 86400
RESOLUTIONS = ((10, DAY), (300, 30 * DAY))
SERIES_PER_WRITE = 10
TARGET_MS = 300


def series_name(index: int) -> str:
    return f"bench.host{index // 100:02d}.metric{index % 100:02d}"


def day_of_snapshots(paths: list[str], first: int, end: int) -> SnapshotBatch:
    """Both resolutions' windows of one day for each path, in time order per path."""
    parts = []
    table = PathTable(paths)
    for offset in range(len(paths)):
        for precision, period in RESOLUTIONS:
            times = np.arange(end - DAY, end, precision, dtype=np.int64)
            values = np.sin(times / 3600 + first + offset) * 100 + first + offset
            count = precision // 10
            size = len(times)
            parts.append(
                SnapshotBatch(
                    table,
                    np.full(size, offset),
                    np.full(size, precision),
                    np.full(size, period),
                    times,
                    np.full(size, count),
                    values * count,
                    values,
                    values,
                )
            )
    batch = SnapshotBatch.joined(parts)
    batch.new_paths = paths
    return batch


async def fill(database: Path, series: int, end: int) -> None:
    """Write the day of every series through the SQLite store, then close it."""
    store = SqliteStore(SqliteStoreConfig(path=str(database)), Registry())
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        for first in range(0, series, SERIES_PER_WRITE):
            paths = [series_name(i) for i in range(first, min(series, first + SERIES_PER_WRITE))]
            await store.write(day_of_snapshots(paths, first, end))
        nursery.cancel_scope.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--max-data-points", type=int, default=1000)
    args = parser.parse_args()
    form = {
        "target": "sumSeries(bench.*.*)",
        "from": "-1d",
        "until": "now",
        "format": "json",
        "maxDataPoints": str(args.max_data_points),
    }
    now = int(time.time())
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        trio.run(fill, Path(tmp) / "cyanite.db", args.series, now - now % 300)
        filled = time.perf_counter() - started
        with running_server(Path(tmp)) as (_, ports):
            wait_for(ports["api"], "cyanite_index_paths", args.series, timeout=300)
            latencies = []
            with httpx.Client(base_url=f"http://{HOST}:{ports['api']}", timeout=60) as client:
                for attempt in range(args.requests + 1):
                    began = time.perf_counter()
                    response = client.post("/render", data=form)
                    elapsed = (time.perf_counter() - began) * 1000
                    assert response.status_code == 200, response.text
                    if attempt:  # the first request warms caches and imports
                        latencies.append(elapsed)
    (answer,) = response.json()
    values = [value for value, _ in answer["datapoints"] if value is not None]
    if not values:
        raise SystemExit("the render answered no values: the stored day was not read")
    print(
        f"{args.series:,} series x {DAY // 10:,} windows at 10 s (and {DAY // 300} at 5 min) "
        f"written to SQLite in {filled:.1f} s"
    )
    print(
        f"/render {form['target']} from=-1d: {len(answer['datapoints'])} points, "
        f"{len(values)} with values (maxDataPoints={args.max_data_points}); "
        f"{len(latencies)} requests"
    )
    median, high = statistics.median(latencies), p95(latencies)
    print(f"median {median:.1f} ms, p95 {high:.1f} ms; {load_average()}")
    verdict("/render sumSeries, 1,000 series x 1 day, median", median, "ms", "<", TARGET_MS)
    verdict("/render sumSeries, 1,000 series x 1 day, p95", high, "ms", "<", TARGET_MS)


if __name__ == "__main__":
    main()
