"""Ingestion end to end: N series x K points of carbon plaintext over C TCP connections.

Starts `cyanite-py serve` on free ports with the default SQLite store in a temporary
directory, sends a pre-built payload (history at 10 s intervals, so every window closes),
and prints:
- points/s aggregated: from the first byte sent until the engine has counted every point;
- points/s to disk: the same, until SIGTERM has flushed every window to SQLite and exited;
- the server's peak RSS.

    .venv/bin/python benchmarks/ingest.py --series 10000 --points 100 --connections 4
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import (
    build_payloads,
    history_start,
    metric,
    peak_rss_mib,
    running_server,
    send_concurrently,
    stop_server,
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    total = args.series * args.points
    payloads = build_payloads(
        args.series, args.points, args.connections, history_start(args.points)
    )
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as (process, ports):
        began = time.perf_counter()
        send_concurrently(ports["carbon"], payloads)
        while metric(ports["api"], "cyanite_engine_points_total") < total:
            time.sleep(0.05)
        aggregated = time.perf_counter() - began
        rss = peak_rss_mib(process.pid)
        stop_server(process, timeout=900)
        flushed = time.perf_counter() - began
    print(
        f"payload: {args.series} series x {args.points} points = {total} points, "
        f"{sum(map(len, payloads)) / 2**20:.1f} MiB over {args.connections} connections"
    )
    print(f"aggregated: {total / aggregated:,.0f} points/s ({aggregated:.2f} s)")
    print(f"flushed to SQLite and stopped: {total / flushed:,.0f} points/s ({flushed:.2f} s)")
    print(f"server peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
