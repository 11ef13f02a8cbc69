"""A day of history replayed over carbon into the Cassandra store, end to end.

Starts `cyanite-py serve` with `store: {type: cassandra}` (a keyspace of its own, dropped
afterwards) and rules `10s:1d, 1m:30d`, sends `--series` series x `--points` points at
10 s intervals over `--connections` TCP connections, then stops the server with SIGTERM,
which flushes every window and drains the writer into Cassandra before exiting. Prints
the time from the first byte sent until the engine counted every point, and until the
server had written everything and exited, with the server's own counters.

    .venv/bin/python benchmarks/cassandra_ingest.py [--hosts 127.0.0.1:9042]
        [--series 1000] [--points 8640] [--connections 4]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from cassandra.cluster import Cluster
from common import (
    build_payloads,
    history_start,
    metric,
    peak_rss_mib,
    running_server,
    send_concurrently,
    stop_server,
)

KEYSPACE = f"ingest_{os.getpid()}"


def drop_keyspace(hosts: list[str], port: int) -> None:
    cluster = Cluster(hosts, port=port)
    try:
        cluster.connect().execute(f"DROP KEYSPACE IF EXISTS {KEYSPACE}", timeout=120)
    finally:
        cluster.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", default=os.environ.get("CASSANDRA_HOSTS", "127.0.0.1:9042"))
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--points", type=int, default=8640)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    pairs = [item.rpartition(":") for item in args.hosts.split(",")]
    hosts, port = [host for host, _, _ in pairs], int(pairs[0][2])
    total = args.series * args.points
    payloads = build_payloads(
        args.series, args.points, args.connections, history_start(args.points)
    )
    store = {"type": "cassandra", "cluster": hosts, "port": port, "keyspace": KEYSPACE}
    rules = {"rules": {"default": ["10s:1d", "1m:30d"]}}
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            running_server(Path(tmp), store=store, engine=rules) as (process, ports),
        ):
            began = time.perf_counter()
            send_concurrently(ports["carbon"], payloads)
            while metric(ports["api"], "cyanite_engine_points_total") < total:
                time.sleep(0.2)
            aggregated = time.perf_counter() - began
            written = metric(ports["api"], "cyanite_store_snapshots_written_total")
            dropped = metric(ports["api"], "cyanite_snapshots_dropped_total")
            rss = peak_rss_mib(process.pid)
            stop_server(process, timeout=900)
            stored = time.perf_counter() - began
    finally:
        drop_keyspace(hosts, port)
    print(
        f"payload: {args.series} series x {args.points} points = {total:,} points,"
        f" {sum(map(len, payloads)) / 2**20:.0f} MiB over {args.connections} connections"
    )
    print(f"  aggregated            : {total / aggregated:,.0f} points/s ({aggregated:.1f} s)")
    print(f"  written and stopped   : {total / stored:,.0f} points/s ({stored:.1f} s)")
    print(f"  snapshots written by the time every point was counted: {written:,.0f}")
    print(f"  snapshots dropped     : {dropped:,.0f}")
    print(f"  server peak RSS       : {rss:.0f} MiB")
    print(f"  rerun                 : .venv/bin/python {' '.join(sys.argv)}")


if __name__ == "__main__":
    main()
