"""Latency of graphite-web's `/render` for `sumSeries` over many series of one day.

Drives the real app in-process (httpx over ASGI, as Grafana's panel asks: form POST,
`from=-1d`, `until=now`, `format=json`, `maxDataPoints`) over a reader built on the
memory index and the engine. By default the windows come from a store that keeps them
as ready numpy columns, so the figures are the render path's own cost (finding paths,
gridding, summing, consolidating, JSON); `--store memory` reads the memory store instead.

    .venv/bin/python benchmarks/render.py [--series 1000] [--requests 30] [--store array]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence

import httpx
import numpy as np
import trio
from common import p95

from cyanite_py.api.app import build_app
from cyanite_py.counters import Registry
from cyanite_py.engine import DriftConfig, Engine, EngineConfig
from cyanite_py.index.memory import MemoryIndex, MemoryIndexConfig
from cyanite_py.model import (
    Aggregate,
    PathTable,
    PointBatch,
    Resolution,
    Series,
    SnapshotBatch,
    Windows,
)
from cyanite_py.query import Reader
from cyanite_py.store.memory import MemoryStore, MemoryStoreConfig

RESOLUTION = Resolution(10, 86400)
NOW = 1_700_000_000


class ArrayStore:
    """Windows held as numpy columns per path, read by slicing: no per-window objects."""

    def __init__(self, windows: dict[str, Windows]) -> None:
        self._windows = windows

    async def read(
        self,
        paths: Sequence[str],
        resolution: Resolution,
        start: int,
        end: int,
        aggregate: Aggregate,
    ) -> dict[str, Series]:
        found = {
            path: self._windows[path].series(path, start, end, resolution.precision, aggregate)
            for path in paths
        }
        await trio.lowlevel.checkpoint()
        return found


async def never_handed_on(batch: SnapshotBatch) -> None:
    """The engine only answers for open windows here: it never runs, so never hands one on."""
    raise AssertionError("the benchmark's engine does not run")


def day_of_windows(index: int) -> Windows:
    times = np.arange(NOW - 86400, NOW, RESOLUTION.precision, dtype=np.int64)
    values = np.sin(times / 3600 + index) * 100 + index
    ones = np.ones(len(times))
    return Windows(times, ones, values, values, values)


async def memory_store(windows: dict[str, Windows], registry: Registry) -> MemoryStore:
    store = MemoryStore(MemoryStoreConfig(), registry, clock=lambda: NOW)
    for path, held in windows.items():
        size = len(held)
        await store.write(
            SnapshotBatch(
                table=PathTable([path]),
                keys=np.zeros(size, dtype=np.int64),
                precisions=np.full(size, RESOLUTION.precision),
                periods=np.full(size, RESOLUTION.period),
                times=held.times,
                counts=np.ones(size, dtype=np.int64),
                sums=held.sums,
                mins=held.mins,
                maxs=held.maxs,
                new_paths=[path],
            )
        )
    return store


async def bench(series: int, requests: int, store_kind: str, max_points: int) -> None:
    registry = Registry()
    paths = [f"bench.host{i // 100:02d}.metric{i % 100:02d}" for i in range(series)]
    windows = {path: day_of_windows(i) for i, path in enumerate(paths)}
    index = MemoryIndex(MemoryIndexConfig(), registry)
    index.add(paths)
    _, receive = trio.open_memory_channel[PointBatch](1)
    engine = Engine(
        EngineConfig(rules={"default": [RESOLUTION]}),
        DriftConfig(),
        receive,
        never_handed_on,
        index.add,
        registry,
        clock=lambda: NOW,
    )
    store = ArrayStore(windows) if store_kind == "array" else await memory_store(windows, registry)
    reader = Reader(store, index, engine, clock=lambda: NOW)  # type: ignore[arg-type]
    form = {
        "target": "aliasSub(sumSeries(bench.*.*), '(^.*$)', '\\1 A')",
        "from": "-1d",
        "until": "now",
        "format": "json",
        "maxDataPoints": str(max_points),
    }
    transport = httpx.ASGITransport(app=build_app(reader, registry))
    latencies = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for attempt in range(requests + 1):
            started = time.perf_counter()
            response = await client.post("/render", data=form)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.text
            if attempt:  # the first request warms caches and imports
                latencies.append(elapsed * 1000)
    (body,) = response.json()
    print(f"/render sumSeries over {series} series x {86400 // RESOLUTION.precision} points")
    print(f"  store         : {store_kind}")
    print(f"  answer        : {len(body['datapoints'])} points (maxDataPoints={max_points})")
    print(f"  requests      : {len(latencies)}")
    print(f"  median        : {statistics.median(latencies):.1f} ms")
    print(f"  p95           : {p95(latencies):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--max-data-points", type=int, default=1000)
    parser.add_argument("--store", choices=("array", "memory"), default="array")
    args = parser.parse_args()
    trio.run(bench, args.series, args.requests, args.store, args.max_data_points)


if __name__ == "__main__":
    main()
