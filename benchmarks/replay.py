"""Nothing lost under replay and overload: history and a flood of new paths at full speed.

Starts `cyanite-py serve` with its default settings (SQLite store, rules 10s:1d and
5m:30d, the writer's default bound) and sends, over 4 TCP connections at once, first
`--series` series x one day of history at 10 s (1,000 x 8,640 points by default), then
`--paths` distinct paths with one point each (2,000,000). While it runs, /ping is asked
every 20 ms. Once the engine has counted every point, the benchmark waits for the writer
to empty, reads the counters, then stops the server with SIGTERM (everything must be
written: exit 0).

Prints points/s (first byte to every point counted), the snapshots submitted, written and
left unwritten (must be 0), points dropped by the inputs (must be 0), how often the
engine waited for the writer (back-pressure), peak RSS of the server and its parse
worker, and /ping's p99.

    .venv/bin/python benchmarks/replay.py [--series 1000] [--paths 2000000]
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
    build_payloads,
    history_start,
    load_average,
    metric,
    one_point_each,
    peak_rss_mib,
    running_server,
    send_concurrently,
    verdict,
)

CONNECTIONS = 4
DAY_POINTS = 8640


class PingTimer:
    """Asks /ping every `interval` seconds from a thread, keeping each latency."""

    def __init__(self, api: int, interval: float = 0.02) -> None:
        self._url = f"http://{HOST}:{api}/ping"
        self._interval = interval
        self._done = threading.Event()
        self.latencies: list[float] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PingTimer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self._done.is_set():
                started = time.perf_counter()
                client.get(self._url)
                self.latencies.append(time.perf_counter() - started)
                self._done.wait(self._interval)

    def p99_ms(self) -> float:
        return statistics.quantiles(self.latencies, n=100)[-1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--points", type=int, default=DAY_POINTS)
    parser.add_argument("--paths", type=int, default=2_000_000)
    args = parser.parse_args()
    history = build_payloads(args.series, args.points, CONNECTIONS, history_start(args.points))
    flood_names = [f"flood.host{i % 1000:03d}.metric{i}" for i in range(args.paths)]
    flood = one_point_each(flood_names, CONNECTIONS, int(time.time()))
    del flood_names
    total = args.series * args.points + args.paths
    print(
        f"payload: {args.series:,} series x {args.points:,} points of history, then "
        f"{args.paths:,} new paths, {total:,} points over {CONNECTIONS} connections"
    )
    with (
        tempfile.TemporaryDirectory() as workdir,
        running_server(Path(workdir), engine={}, writer={}) as (process, ports),
    ):
        api = ports["api"]
        with PingTimer(api) as pings:
            began = time.perf_counter()
            send_concurrently(ports["carbon"], history)
            send_concurrently(ports["carbon"], flood)
            while metric(api, "cyanite_engine_points_total") < total:
                time.sleep(0.05)
            seconds = time.perf_counter() - began
            while metric(api, "cyanite_store_buffer_snapshots") > 0:
                time.sleep(0.2)
        counts = {
            name: metric(api, f"cyanite_{name}")
            for name in (
                "snapshots_submitted_total",
                "snapshots_written_total",
                "store_buffer_full_waits_total",
                "input_points_dropped_total",
                "input_rejected_total",
            )
        }
        peak = peak_rss_mib(process.pid)
        process.terminate()
        code = process.wait(timeout=600)
    print(f"ingestion: {total / seconds:,.0f} points/s ({seconds:.1f} s); {load_average()}")
    print(
        f"snapshots: {counts['snapshots_submitted_total']:,.0f} submitted, "
        f"{counts['snapshots_written_total']:,.0f} written before the stop; the stop exited "
        f"{code}; the engine waited for the writer {counts['store_buffer_full_waits_total']:,.0f}"
        f" times; points dropped by the inputs {counts['input_points_dropped_total']:,.0f}, "
        f"rejected {counts['input_rejected_total']:,.0f}"
    )
    print(
        f"peak RSS {peak:,.0f} MiB; /ping p99 {pings.p99_ms():,.1f} ms "
        f"over {len(pings.latencies):,} pings"
    )
    unwritten = counts["snapshots_submitted_total"] - counts["snapshots_written_total"]
    verdict("snapshots left unwritten", unwritten, "snapshots", "<=", 0)
    verdict("points dropped by the inputs", counts["input_points_dropped_total"], "points", "<=", 0)
    verdict("exit code of the stop", code, "", "<=", 0)


if __name__ == "__main__":
    main()
