"""How fast the Elasticsearch index writes paths: nodes/s for each bulk size and number of
bulk requests in flight, for new paths and for paths written again.

Each run loads the dc.host.group.metric tree of `benchmarks/glob_query.py` (1,000,000
leaves, 1,011,004 nodes) into a new index, handing the index 50,000 paths at a time as
the engine would, and times it until every node is written and refreshed; then a second
index object, as a restarted server has, writes every node again into the same index.
Write retries (Elasticsearch pushing back with 429) are printed beside each figure, and
the CPU time this process spent per node (adding, encoding, sending), which the load of a
shared machine changes less than it changes nodes/s.

    scripts/services start elasticsearch
    .venv/bin/python benchmarks/elasticsearch_bulk.py [--bulk-size 2000,5000,10000]
        [--bulk-concurrency 1,2,4,8] [--runs 2] [--paths 1000000]
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import uuid

import httpx
import trio
from common import load_average
from glob_query import tree

from cyanite_py.counters import Registry
from cyanite_py.index.elasticsearch import ElasticsearchIndex
from cyanite_py.index.elasticsearch_config import ElasticsearchIndexConfig


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def write_all(
    config: ElasticsearchIndexConfig, paths: list[str]
) -> tuple[float, float, float]:
    """Nodes/s for writing `paths` with a new index object, this process's CPU
    microseconds per node, and the retries it made."""
    registry = Registry()
    index = ElasticsearchIndex(config, registry)
    async with trio.open_nursery() as nursery:
        await nursery.start(index.run)
        start, cpu = time.perf_counter(), cpu_seconds()
        for offset in range(0, len(paths), 50_000):
            index.add(paths[offset : offset + 50_000])
        await index.flush()
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        nursery.cancel_scope.cancel()
    nodes = registry.value("index_paths_indexed", index="elasticsearch")
    retries = registry.value("index_write_retries", index="elasticsearch")
    return nodes / seconds, cpu / nodes * 1e6, retries


async def main(url: str, sizes: list[int], concurrencies: list[int], runs: int, count: int) -> None:
    paths = tree()[:count]
    print(f"{len(paths):,} paths; {load_average()}")
    print(
        f"{'bulk_size':>9} {'in flight':>9} {'new nodes/s':>12} {'again nodes/s':>14} "
        f"{'client CPU us/node':>19} retries"
    )
    for size in sizes:
        for concurrency in concurrencies:
            for _ in range(runs):
                name = f"bench_bulk_{uuid.uuid4().hex[:12]}"
                config = ElasticsearchIndexConfig(
                    url=url, index=name, bulk_size=size, bulk_concurrency=concurrency
                )
                try:
                    new, new_cpu, new_retries = await write_all(config, paths)
                    again, again_cpu, again_retries = await write_all(config, paths)
                finally:
                    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
                        await http.delete(f"/{name}")
                print(
                    f"{size:>9} {concurrency:>9} {new:>12,.0f} {again:>14,.0f} "
                    f"{new_cpu:>10.1f} / {again_cpu:<6.1f} {new_retries:.0f}+{again_retries:.0f}"
                )
    print(load_average())


def numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default=os.environ.get("ELASTICSEARCH_URL", "http://127.0.0.1:9200")
    )
    parser.add_argument("--bulk-size", type=numbers, default=[2000, 5000, 10000])
    parser.add_argument("--bulk-concurrency", type=numbers, default=[1, 2, 4, 8])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--paths", type=int, default=1_000_000)
    arguments = parser.parse_args()
    trio.run(
        main,
        arguments.url.rstrip("/"),
        arguments.bulk_size,
        arguments.bulk_concurrency,
        arguments.runs,
        arguments.paths,
    )
