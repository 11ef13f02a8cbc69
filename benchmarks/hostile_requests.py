"""Hostile HTTP requests against a running server: how long each takes to answer, what it
answers, the server's memory, and /ping's latency while it runs.

Starts `cyanite-py serve` (SQLite in a temporary directory) and fills it over carbon with
100,000 paths `h.hostNNN.mNN` (one point each), 50 paths `bench.pN` with a day of points
every 10 s, and a path with a 4,000-character node. Each request below runs `--repeat`
times while a thread asks /ping every 10 ms; the figures are the request's median time,
its status, /ping's median, p99 and worst latency during it, and the server's resident
memory (now and at its peak). The last request is the slowest one the default bounds
allow: sumSeries over 1,000 series of a day at 10 s (8.6 million cells).

    .venv/bin/python benchmarks/hostile_requests.py [--repeat 3] [--only TEXT]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
from common import (
    HOST,
    load_average,
    one_point_each,
    peak_rss_mib,
    rss_mib,
    running_server,
    send_concurrently,
    wait_settled,
)

REQUESTS: list[tuple[str, str, dict[str, str]]] = [
    ("far future `to`", "/metrics", {"path": "bench.*", "from": "-1h", "to": "20000000000"}),
    ("/metrics from=0, 50 paths", "/metrics", {"path": "bench.*", "from": "0"}),
    ("/render from=0", "/render", {"target": "bench.p0", "from": "0"}),
    ("*a*a*b over a 4,000-char node", "/metrics/find", {"query": "x.*a*a*b"}),
    ("{a,b} x 24: 16.7M names", "/metrics/find", {"query": "{a,b}" * 24}),
    ("*.*.* over 100,000 paths", "/metrics/find", {"query": "*.*.*"}),
    ("expand h.*.*", "/metrics/expand", {"query": "h.*.*"}),
    ("summarize 1s over 30 days", "/render", {"target": "summarize(bench.*,'1s')", "from": "-30d"}),
    ("grep (a+)+$ on long names", "/render", {"target": "grep(x.*,'(a+)+$')"}),
    ("3,000 pipes", "/render", {"target": "bench.p0" + "|absolute()" * 3000}),
    ("sumSeries 1,000 x 1 day", "/render", {"target": "sumSeries(h.host*.m00)", "from": "-1d"}),
]


class PingSampler:
    """Asks /ping every 10 ms in a thread, keeping each latency in ms."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PingSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=60) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                client.get("/ping")
                self.latencies.append((time.perf_counter() - started) * 1000)
                self._stop.wait(0.01)


def _pings(latencies: list[float]) -> str:
    """Median, p99 and worst of the /ping latencies, in ms, as table columns."""
    ordered = sorted(latencies) or [float("nan")]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{statistics.median(ordered):>9.1f} {p99:>7.1f} {ordered[-1]:>7.1f}"


def fill(carbon: int) -> int:
    """Send every path and return how many there are."""
    now = int(time.time())
    names = [f"h.host{h:03d}.m{m:02d}" for h in range(1000) for m in range(100)]
    names.append("x." + "a" * 4000)
    payloads = one_point_each(names, 4, now)
    day = "".join(
        f"bench.p{p} {i} {now - 86400 + i * 10}\n" for p in range(50) for i in range(8640)
    )
    send_concurrently(carbon, [*payloads, day.encode()])
    return len(names) + 50


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--only",
        action="append",
        help="run only the requests whose name contains this text (repeatable)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as (process, ports):
        paths = fill(ports["carbon"])
        wait_settled(ports["api"], paths, timeout=600)
        time.sleep(15)  # the windows close after the drift grace: let that flush be written
        wait_settled(ports["api"], paths, timeout=600)
        base = f"http://{HOST}:{ports['api']}"
        print(f"{paths:,} paths; server RSS {rss_mib(process.pid):.0f} MiB; {load_average()}")
        print(
            f"{'request':32} {'status':>6} {'median s':>9} {'ping p50':>9} {'p99 ms':>7} "
            f"{'max ms':>7} {'RSS MiB':>8} {'peak':>6}"
        )
        with httpx.Client(base_url=base, timeout=120) as client:
            client.get("/metrics", params={"path": "bench.*", "from": "-1h"})  # warm the store
            with PingSampler(base) as idle:
                time.sleep(3)
            print(f"{'(no request: /ping alone)':32} {'':>6} {'':>9} {_pings(idle.latencies)}")
            for name, route, params in REQUESTS:
                if args.only and not any(text in name for text in args.only):
                    continue
                times, statuses = [], set()
                with PingSampler(base) as pings:
                    time.sleep(0.05)
                    for _ in range(args.repeat):
                        started = time.perf_counter()
                        response = client.get(route, params=params)
                        times.append(time.perf_counter() - started)
                        statuses.add(response.status_code)
                print(
                    f"{name:32} {'/'.join(map(str, sorted(statuses))):>6} "
                    f"{statistics.median(times):>9.3f} {_pings(pings.latencies)} "
                    f"{rss_mib(process.pid):>8.0f} {peak_rss_mib(process.pid):>6.0f}"
                )
    print(load_average())


if __name__ == "__main__":
    main()
