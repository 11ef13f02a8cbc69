"""Path query target: `/paths?query=GLOB` and `/metrics/find?query=GLOB` over HTTP against a
running server whose memory index holds 1,000,000 paths: median and p95 < 10 ms per glob.

Starts `cyanite-py serve` (default SQLite store in a temporary directory), fills it over
carbon with one point for each path of the dc.host.group.metric tree of
`benchmarks/glob_query.py` (4 x 250 x 10 x 100), waits until the index holds every path
and the writer has written them all, then asks each of that benchmark's globs once to warm
up and `--repeat` times more over one kept-alive connection, timing each request from the
client (HTTP and JSON included). The verdicts are on the slowest glob's median and the
slowest glob's p95, per route.

    .venv/bin/python benchmarks/http_queries.py [--repeat 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from common import (
    HOST,
    load_average,
    one_point_each,
    p95,
    running_server,
    send_concurrently,
    verdict,
    wait_settled,
)
from glob_query import QUERIES, tree

ROUTES = ("/paths", "/metrics/find")
TARGET_MS = 10


def timed(client: httpx.Client, route: str, pattern: str, repeat: int) -> tuple[list[float], int]:
    """Latencies in ms of `repeat` requests after a warm-up one, and the nodes answered."""
    found = client.get(route, params={"query": pattern})
    assert found.status_code == 200, found.text
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(route, params={"query": pattern})
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return times, len(found.json())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    names = tree()
    payloads = one_point_each(names, 4, int(time.time()))
    worst = {route: (0.0, 0.0) for route in ROUTES}
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as (_, ports):
        send_concurrently(ports["carbon"], payloads)
        wait_settled(ports["api"], len(names), timeout=600)
        print(f"{len(names):,} paths in the server's memory index; {load_average()}")
        print(f"{'query':40} {'route':14} {'nodes':>7} {'median ms':>10} {'p95 ms':>8}")
        with httpx.Client(base_url=f"http://{HOST}:{ports['api']}", timeout=60) as client:
            for pattern in QUERIES:
                for route in ROUTES:
                    times, nodes = timed(client, route, pattern, args.repeat)
                    median, high = statistics.median(times), p95(times)
                    worst[route] = (max(worst[route][0], median), max(worst[route][1], high))
                    print(f"{pattern:40} {route:14} {nodes:>7,} {median:>10.2f} {high:>8.2f}")
    print(load_average())
    for route, (median, high) in worst.items():
        verdict(f"{route} median, slowest glob", median, "ms", "<", TARGET_MS)
        verdict(f"{route} p95, slowest glob", high, "ms", "<", TARGET_MS)


if __name__ == "__main__":
    main()
