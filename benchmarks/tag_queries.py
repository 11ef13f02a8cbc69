"""What tagged series cost the memory index, and how fast it answers Grafana's tag queries.

Loads a memory index with `--series` tagged paths shaped like a fleet's
(`cpu.<kind>;dc=dcN;host=hostNNNNN;rack=rNN;core=N`), then with as many plain paths of
the same nodes (`dcN.hostNNNNN.rNN.N.cpu.<kind>`) in a second index, and prints the
memory each took (bytes traced by tracemalloc per path) and how fast each took its
paths. Then each query of the editor and of template variables runs `--repeat` times
and its median and p95 latency are printed with the size of its answer.

    .venv/bin/python benchmarks/tag_queries.py [--series 200000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Sized

import trio
from common import load_average, p95

from cyanite_py.counters import Registry
from cyanite_py.index.memory import MemoryIndex, MemoryIndexConfig
from cyanite_py.tags import TagExpression, TagFilter, TagQuery

KINDS = ("user", "system", "idle", "iowait")
Query = Callable[[MemoryIndex], Awaitable[Sized]]


def tagged(series: int) -> list[str]:
    hosts = series // (len(KINDS) * 4)
    return [
        f"cpu.{kind};core={core};dc=dc{host % 4};host=host{host:05d};rack=r{host % 50:02d}"
        for host in range(hosts)
        for core in range(4)
        for kind in KINDS
    ]


def plain(series: int) -> list[str]:
    hosts = series // (len(KINDS) * 4)
    return [
        f"dc{host % 4}.host{host:05d}.r{host % 50:02d}.{core}.cpu.{kind}"
        for host in range(hosts)
        for core in range(4)
        for kind in KINDS
    ]


def loaded(paths: list[str]) -> tuple[MemoryIndex, float, float]:
    """An index holding `paths`, the bytes it took per path, and paths added a second."""
    gc.collect()
    tracemalloc.start()
    index = MemoryIndex(MemoryIndexConfig(max_matches=10**7), Registry())
    began = time.perf_counter()
    for start in range(0, len(paths), 10_000):
        index.add(paths[start : start + 10_000])
    elapsed = time.perf_counter() - began
    used, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return index, used / len(paths), len(paths) / elapsed


def query(*texts: str) -> TagQuery:
    return TagQuery.parse(texts)


QUERIES: list[tuple[str, Query]] = [
    ("tags (first segment)", lambda i: i.autocomplete_tags(None, "", 100)),
    ("values of name", lambda i: i.autocomplete_values(None, "name", "", 100)),
    (
        "tags of name=cpu.user",
        lambda i: i.autocomplete_tags(query("name=cpu.user"), "", 100),
    ),
    (
        "hosts of name=cpu.user,dc=dc1",
        lambda i: i.autocomplete_values(
            query("name=cpu.user", "dc=dc1", "host!="), "host", "host01", 100
        ),
    ),
    (
        "tag_values(core, name=~cpu)",
        lambda i: i.autocomplete_values(
            TagQuery.parse(["name=~cpu"], TagExpression.has("core")), "core", "", 10_000
        ),
    ),
    ("findSeries one host", lambda i: i.find_series(query("host=host00042"), 10**6)),
    (
        "findSeries name,dc,rack",
        lambda i: i.find_series(query("name=cpu.user", "dc=dc2", "rack=~r1"), 10**6),
    ),
    (
        "findSeries name,host=~,core!=",
        lambda i: i.find_series(query("name=cpu.idle", "host=~host000", "core!=0"), 10**6),
    ),
    ("/tags/host filter", lambda i: i.list_values("host", TagFilter("host1"), 10_000)),
]


async def timed(index: MemoryIndex, ask: Query, repeat: int) -> tuple[list[float], int]:
    times, size = [], 0
    for _ in range(repeat):
        began = time.perf_counter()
        size = len(await ask(index))
        times.append(time.perf_counter() - began)
    return times, size


async def run(series: int, repeat: int) -> None:
    tags_index, tagged_bytes, tagged_rate = loaded(tagged(series))
    _, plain_bytes, plain_rate = loaded(plain(series))
    print(f"{len(tagged(series)):,} series; bytes traced per path, paths added a second:")
    print(f"  tagged: {tagged_bytes:6.0f} B  {tagged_rate:10,.0f}/s")
    print(f"  plain:  {plain_bytes:6.0f} B  {plain_rate:10,.0f}/s")
    print(f"{'query':34} {'answer':>8} {'median ms':>10} {'p95 ms':>8}")
    for name, ask in QUERIES:
        times, size = await timed(tags_index, ask, repeat)
        median, worst = statistics.median(times) * 1000, p95(times) * 1000
        print(f"{name:34} {size:8,} {median:10.1f} {worst:8.1f}")
    print(load_average())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    trio.run(run, args.series, args.repeat)


if __name__ == "__main__":
    main()
