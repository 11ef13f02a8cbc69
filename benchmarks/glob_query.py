"""Glob query latency of the memory and Elasticsearch indexes over 1,000,000 paths.

The tree is dc.host.group.metric (4 x 250 x 10 x 100 leaves). Both indexes are loaded
with it, then each query runs `--repeat` times per index; the median and p95 latency are
printed, with the number of nodes found (the same for both, or the run fails).

    scripts/services start elasticsearch
    .venv/bin/python benchmarks/glob_query.py [--url http://127.0.0.1:9200] [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
import trio

from cyanite_py.counters import Registry
from cyanite_py.index.base import Index, Node
from cyanite_py.index.elasticsearch import ElasticsearchIndex
from cyanite_py.index.elasticsearch_config import ElasticsearchIndexConfig
from cyanite_py.index.memory import MemoryIndex, MemoryIndexConfig

QUERIES = [
    "dc1.host042.group3.metric17",
    "dc1.host042.group3.*",
    "dc1.host042.*.*",
    "dc1.host04?.group3.metric1[0-4]",
    "dc*.host1[0-2]3.group{1,2}.metric0?",
    "*.*.group5.metric42",
    "*.host2[!0-3]*.group9.metric9*",
    "dc2.*",
    "*",
]


def tree() -> list[str]:
    return [
        f"dc{dc}.host{host:03d}.group{group}.metric{metric:02d}"
        for dc in range(4)
        for host in range(250)
        for group in range(10)
        for metric in range(100)
    ]


async def timed_load(index: Index, paths: list[str]) -> float:
    start = time.perf_counter()
    for offset in range(0, len(paths), 50_000):
        index.add(paths[offset : offset + 50_000])
    await index.flush()
    return time.perf_counter() - start


async def latencies(
    find: Callable[[str], Awaitable[list[Node]]], pattern: str, repeat: int
) -> tuple[list[float], int]:
    found = await find(pattern)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await find(pattern)
        times.append((time.perf_counter() - start) * 1000)
    return times, len(found)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


async def main(url: str, name: str, repeat: int) -> None:
    """Load the same paths into a memory index and into Elasticsearch index `name`, then time
    each query against both."""
    paths = tree()
    memory = MemoryIndex(MemoryIndexConfig(), Registry())
    elastic = ElasticsearchIndex(ElasticsearchIndexConfig(url=url, index=name), Registry())
    async with trio.open_nursery() as nursery:
        await nursery.start(memory.run)
        await nursery.start(elastic.run)
        print(f"{len(paths):,} paths")
        print(f"load: memory {await timed_load(memory, paths):.1f}s, ", end="", flush=True)
        print(f"elasticsearch {await timed_load(elastic, paths):.1f}s")
        header = f"{'memory ms p50/p95':>22} {'elasticsearch ms p50/p95':>26}"
        print(f"{'query':40} {'nodes':>8} {header}")
        for pattern in QUERIES:
            mem, found = await latencies(memory.find, pattern, repeat)
            es, es_found = await latencies(elastic.find, pattern, repeat)
            assert found == es_found, (pattern, found, es_found)
            print(
                f"{pattern:40} {found:>8,} "
                f"{statistics.median(mem):>11.2f} / {p95(mem):>8.2f} "
                f"{statistics.median(es):>15.2f} / {p95(es):>8.2f}"
            )
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default=os.environ.get("ELASTICSEARCH_URL", "http://127.0.0.1:9200")
    )
    parser.add_argument("--repeat", type=int, default=20)
    arguments = parser.parse_args()
    url = arguments.url.rstrip("/")
    index = f"bench_paths_{uuid.uuid4().hex[:12]}"
    try:
        trio.run(main, url, index, arguments.repeat)
    finally:
        httpx.delete(f"{url}/{index}", timeout=120)
