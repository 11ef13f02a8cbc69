"""Glob query latency of the memory and Elasticsearch indexes over 1,000,000 paths, and how
fast Elasticsearch takes them in.

The tree is dc.host.group.metric (4 x 250 x 10 x 100 leaves, 1,011,004 nodes). Each index
in turn is loaded with it (Elasticsearch's load is printed in nodes/s) and each query runs
`--repeat` times on it; the median and p95 latency are printed, with the number of nodes
found (the same nodes from both, or the run fails). Elasticsearch is timed twice:
"uncached" clears its request cache before every query (a glob first asked, or asked after
the index changed), "cached" does not (a dashboard asking the same glob again).

    scripts/services start elasticsearch
    .venv/bin/python benchmarks/glob_query.py [--repeat 30] [--bulk-size 5000]
        [--bulk-concurrency 4] [--index NAME --keep]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
import trio
from common import load_average, p95

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
FEW_LITERALS = [
    "*.host042.*",  # shaped like *.cpu.*
    "dc*.host042.*",  # like host*.mem.*
    "dc1.*.group3.metric4?",  # like a.*.c.*
    "*.*.group5",  # like *.*.x
    "dc1.*.*.metric42",
]
"""Globs with few literal names, whose time Elasticsearch must keep low by narrowing."""
LARGE = ["*.*.*.metric42", "dc1.*.group3.*"]
"""Globs of 10,000 and 25,000 nodes, whose time the size of the answer bounds."""


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
    find: Callable[[str], Awaitable[list[Node]]],
    pattern: str,
    repeat: int,
    before: Callable[[], Awaitable[None]] | None = None,
) -> tuple[list[float], list[Node]]:
    """Milliseconds per `find(pattern)`, each after an untimed `before()`, and what it found."""
    found = await find(pattern)
    times = []
    for _ in range(repeat):
        if before is not None:
            await before()
        start = time.perf_counter()
        await find(pattern)
        times.append((time.perf_counter() - start) * 1000)
    return times, found


def shown(times: list[float]) -> str:
    return f"{statistics.median(times):>7.2f} / {p95(times):>6.2f}"


async def time_memory(
    paths: list[str], queries: list[str], repeat: int
) -> dict[str, tuple[list[float], list[Node]]]:
    """Load a memory index, time every query against it, and drop it: its million tree
    nodes would otherwise stretch this process's garbage collections, and with them the
    Elasticsearch index's figures."""
    memory = MemoryIndex(MemoryIndexConfig(), Registry())
    async with trio.open_nursery() as nursery:
        await nursery.start(memory.run)
        print(f"load: memory {await timed_load(memory, paths):.1f}s")
        timed = {pattern: await latencies(memory.find, pattern, repeat) for pattern in queries}
        nursery.cancel_scope.cancel()
    return timed


async def main(
    url: str,
    name: str,
    repeat: int,
    config: ElasticsearchIndexConfig,
    reuse: bool,
    freeze_gc: bool,
) -> None:
    """Time each query against a memory index, then load the same paths into
    Elasticsearch index `name` (unless `reuse`) and time them there."""
    paths = tree()
    queries = [*QUERIES, *FEW_LITERALS, *LARGE]
    print(f"{len(paths):,} paths; {load_average()}")
    memory = await time_memory(paths, queries, repeat)
    registry = Registry()
    elastic = ElasticsearchIndex(config, registry)
    async with trio.open_nursery() as nursery, httpx.AsyncClient(base_url=url) as http:
        await nursery.start(elastic.run)
        if reuse:
            print(f"load: elasticsearch: reusing index {name}")
        else:
            seconds = await timed_load(elastic, paths)
            nodes = registry.value("index_paths_indexed", index="elasticsearch")
            print(
                f"load: elasticsearch {seconds:.1f}s: {nodes:,.0f} nodes, "
                f"{nodes / seconds:,.0f} nodes/s (bulk_size {config.bulk_size}, "
                f"bulk_concurrency {config.bulk_concurrency})"
            )

        if freeze_gc:
            gc.freeze()

        async def clear_cache() -> None:
            await http.post(f"/{name}/_cache/clear", params={"request": "true"})

        header = "memory p50 / p95   es uncached p50 / p95   es cached p50 / p95 (ms)"
        print(f"{'query':38} {'nodes':>7}   {header}")
        for pattern in queries:
            mem, found = memory[pattern]
            cold, es_found = await latencies(elastic.find, pattern, repeat, clear_cache)
            warm, _ = await latencies(elastic.find, pattern, repeat)
            assert found == es_found, (pattern, len(found), len(es_found))
            print(
                f"{pattern:38} {len(found):>7,}   {shown(mem)}      {shown(cold)}"
                f"         {shown(warm)}"
            )
        print(load_average())
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default=os.environ.get("ELASTICSEARCH_URL", "http://127.0.0.1:9200")
    )
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--bulk-size", type=int, default=ElasticsearchIndexConfig.bulk_size)
    parser.add_argument(
        "--bulk-concurrency", type=int, default=ElasticsearchIndexConfig.bulk_concurrency
    )
    parser.add_argument(
        "--freeze-gc",
        action="store_true",
        help="after loading, put every object alive out of the garbage collector's reach "
        "(gc.freeze), so that full collections, which here take 50-100 ms, walk only what "
        "queries allocate",
    )
    parser.add_argument("--index", help="index to use (default: a new one)")
    parser.add_argument("--keep", action="store_true", help="keep the index afterwards")
    arguments = parser.parse_args()
    url = arguments.url.rstrip("/")
    index = arguments.index or f"bench_paths_{uuid.uuid4().hex[:12]}"
    reuse = httpx.head(f"{url}/{index}", timeout=30).status_code == 200
    config = ElasticsearchIndexConfig(
        url=url,
        index=index,
        bulk_size=arguments.bulk_size,
        bulk_concurrency=arguments.bulk_concurrency,
    )
    try:
        trio.run(main, url, index, arguments.repeat, config, reuse, arguments.freeze_gc)
    finally:
        if not arguments.keep:
            httpx.delete(f"{url}/{index}", timeout=120)
