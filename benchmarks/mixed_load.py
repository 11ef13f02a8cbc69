"""Queries while ingesting: with carbon arriving at `--rate` points/s (target 500,000), a
Grafana-like mix of requests at `--requests` per second (target 20) keeps its p95 at or
under 200 ms, and ingestion does not fall below the rate asked.

Starts `cyanite-py serve` (default SQLite store in a temporary directory) and fills it over
carbon with 100 series `q.hNN.cpu` holding 6 hours at 10 s and one series `q.day` holding a
day. Then a sender process replays carbon lines of `--series` series stamped with the
current second over 4 TCP connections, paced to `--rate` points/s, while the benchmark
asks, in turn and at a fixed pace (an open loop: a slow answer does not slow the asking):

- `aliasSub(sumSeries(q.h*.cpu),'q','total')` over the last 6 hours (100 series),
- `/metrics/find` of one host's metrics among the ingested series (1,000 nodes),
- one series over a day (`q.day`).

The figures are the points/s the engine counted during the `--seconds` measured, each
request kind's p50, p95 and worst latency from the client, and the counters that would
show data left behind (points dropped or refused, snapshots unwritten).

    .venv/bin/python benchmarks/mixed_load.py [--rate 500000] [--requests 20] [--seconds 40]
"""

from __future__ import annotations

import argparse
import multiprocessing
import socket
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from common import (
    HOST,
    load_average,
    metric,
    p95,
    peak_rss_mib,
    running_server,
    send_concurrently,
    verdict,
    wait_for,
)

CONNECTIONS = 4
HOSTS = 100
PACING = 0.99
"""The share of `--rate` a server that keeps up is counted at: the sender's pacing and the
measured span are each exact to about a tenth of a second."""
STAMP = b"1000000000"
"""The placeholder timestamp in the sender's template, replaced by each second's own."""

REQUESTS: list[tuple[str, str, dict[str, str]]] = [
    (
        "6 h aliasSub(sumSeries) of 100",
        "/render",
        {
            "target": "aliasSub(sumSeries(q.h*.cpu),'q','total')",
            "from": "-6h",
            "format": "json",
        },
    ),
    ("find one host's metrics", "/metrics/find", {"query": "load.h07.*"}),
    ("one series over a day", "/render", {"target": "q.day", "from": "-1d", "format": "json"}),
]


def history(now: int) -> bytes:
    """Six hours of 100 series at 10 s and a day of one, ending now."""
    lines = [
        f"q.h{host:02d}.cpu {(step * 7 + host) % 100} {now - step * 10}\n"
        for host in range(HOSTS)
        for step in range(6 * 360)
    ]
    lines.extend(f"q.day {step % 50} {now - step * 10}\n" for step in range(8640))
    return "".join(lines).encode()


def template(series: int) -> bytes:
    """One point of each ingested series, stamped with the placeholder."""
    return "".join(
        f"load.h{index // 1000:02d}.m{index % 1000:03d} {index % 89}.5 {STAMP.decode()}\n"
        for index in range(series)
    ).encode()


def send_paced(port: int, series: int, rate: int, stop_at: float) -> None:
    """Send `rate` points a second, each second's lines stamped with that second, in tenths
    of a second spread over the connections, until `stop_at` (time.time())."""
    lines = template(series)
    per_tenth = max(rate // 10, 1)
    sockets = [socket.create_connection((HOST, port)) for _ in range(CONNECTIONS)]
    starts = [0, *(i + 1 for i in range(len(lines)) if lines[i] == 10)][:-1]
    turn = 0
    offset = 0
    while (now := time.time()) < stop_at:
        stamped = lines.replace(STAMP, str(int(now)).encode())
        sent = 0
        while sent < per_tenth:
            take = min(per_tenth - sent, series - offset)
            end = starts[offset + take] if offset + take < series else len(stamped)
            sockets[turn % CONNECTIONS].sendall(stamped[starts[offset] : end])
            turn += 1
            sent += take
            offset = (offset + take) % series
        time.sleep(max(0.0, now + 0.1 - time.time()))
    for each in sockets:
        each.close()


def ask(base: str, seconds: float, per_second: float) -> dict[str, list[float]]:
    """Ask the mix in turn every 1/`per_second` s for `seconds`; latencies in ms by kind."""
    latencies: dict[str, list[float]] = defaultdict(list)
    failures: list[str] = []
    local = threading.local()

    def one(kind: str, route: str, params: dict[str, str]) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base, timeout=60)
        started = time.perf_counter()
        response = local.client.get(route, params=params)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            failures.append(f"{kind}: {response.status_code} {response.text[:200]}")
        latencies[kind].append(elapsed)

    interval = 1 / per_second
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for index in range(int(seconds * per_second)):
            time.sleep(max(0.0, began + index * interval - time.perf_counter()))
            kind, route, params = REQUESTS[index % len(REQUESTS)]
            pool.submit(one, kind, route, params)
    if failures:
        raise SystemExit("requests failed: " + "; ".join(failures[:5]))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=int, default=500_000, help="points/s sent")
    parser.add_argument("--requests", type=float, default=20, help="requests/s asked")
    parser.add_argument("--series", type=int, default=100_000, help="series ingested")
    parser.add_argument("--seconds", type=float, default=40, help="seconds measured")
    parser.add_argument("--warm-up", type=float, default=10, help="seconds before measuring")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as (process, ports):
        api, carbon = ports["api"], ports["carbon"]
        base = f"http://{HOST}:{api}"
        now = int(time.time())
        send_concurrently(carbon, [history(now)])
        wait_for(api, "cyanite_engine_points_total", HOSTS * 6 * 360 + 8640, timeout=300)
        stop_at = time.time() + args.warm_up + args.seconds + 1
        sender = multiprocessing.Process(
            target=send_paced, args=(carbon, args.series, args.rate, stop_at), daemon=True
        )
        sender.start()
        time.sleep(args.warm_up)
        counted = metric(api, "cyanite_engine_points_total")
        began = time.perf_counter()
        latencies = ask(base, args.seconds, args.requests)
        elapsed = time.perf_counter() - began
        rate = (metric(api, "cyanite_engine_points_total") - counted) / elapsed
        sender.join()
        peak = peak_rss_mib(process.pid)
        lost = {
            name: metric(api, f"cyanite_{name}_total")
            for name in ("input_points_dropped", "engine_points_refused", "input_rejected")
        }
    print(
        f"sent at {args.rate:,} points/s over {CONNECTIONS} connections, {args.series:,} "
        f"series; asked {args.requests:g} requests/s for {args.seconds:g} s"
    )
    print(f"{'request':34} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    everything: list[float] = []
    for kind, _, _ in REQUESTS:
        times = latencies[kind]
        everything.extend(times)
        print(
            f"{kind:34} {len(times):>6} {statistics.median(times):>8.1f} "
            f"{p95(times):>8.1f} {max(times):>8.1f}"
        )
    print(f"server peak RSS {peak:.0f} MiB")
    print(f"left behind: {', '.join(f'{name} {value:,.0f}' for name, value in lost.items())}")
    print(load_average())
    verdict("ingestion while queried", rate, "points/s", ">=", args.rate * PACING)
    verdict("query p95 while ingesting", p95(everything), "ms", "<=", 200)


if __name__ == "__main__":
    main()
