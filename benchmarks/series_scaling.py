"""How the server grows with its series: peak RSS, restart time and `/metrics/find` latency
at each size of `--sizes` (default 100,000 to 10,000,000 series; targets at 10,000,000:
peak RSS <= 6 GiB, restart serving queries within 30 s, find p95 <= 10 ms).

For each size: starts `cyanite-py serve` (default SQLite store and memory index in a
temporary directory), sends one point stamped now for each path of a
`dcD.hostHHHH.groupG.metricMM` tree (4 data centres, 10 groups, 100 metrics, as many hosts
as the size needs) over 4 TCP connections, waits until the index holds every path and the
writer has written them, and reads the peak RSS of the server and its parse workers (and
of the server alone, and its RSS then, to tell the lasting bytes from the transient). Then
asks each glob below `--repeat` times over one connection (p95 of the slowest glob), stops
the server (SIGTERM), and starts it again on the same files: the restart time is from the
new process to its "serving" line, which it logs once the index is rebuilt.

    .venv/bin/python benchmarks/series_scaling.py [--sizes 100000,1000000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from common import (
    HOST,
    load_average,
    p95,
    peak_rss_mib,
    running_server,
    stop_server,
    verdict,
    wait_settled,
)

PER_HOST = 10 * 100
"""Paths under each host: 10 groups of 100 metrics."""
DATA_CENTRES = 4
CONNECTIONS = 4
SETTLE_TIMEOUT = 3600
TARGET_SERIES = 10_000_000

GLOBS = [
    "dc1.host0012.group3.metric17",
    "dc1.host0012.group3.*",
    "dc1.host0012.*.*",
    "dc1.host001?.group3.metric1[0-4]",
    "dc{0,3}.host00[1-2]?.group{1,2}.metric0?",
    "dc2.*",
    "*",
]


def hosts_for(size: int) -> int:
    return max(size // (DATA_CENTRES * PER_HOST), 1)


def lines(size: int, connection: int, timestamp: int) -> Iterator[bytes]:
    """This connection's share of the tree, one point per path, in chunks of about 4 MiB."""
    stamp = f" 1 {timestamp}\n"
    for dc in range(DATA_CENTRES):
        for host in range(connection, hosts_for(size), CONNECTIONS):
            yield "".join(
                f"dc{dc}.host{host:04d}.group{group}.metric{metric:02d}{stamp}"
                for group in range(10)
                for metric in range(100)
            ).encode()


def fill(port: int, size: int) -> int:
    """Send the tree over `CONNECTIONS` connections at once; return how many paths."""
    timestamp = int(time.time())

    def send(connection: int) -> None:
        with socket.create_connection((HOST, port)) as sock:
            for chunk in lines(size, connection, timestamp):
                sock.sendall(chunk)

    threads = [threading.Thread(target=send, args=(each,)) for each in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return DATA_CENTRES * hosts_for(size) * PER_HOST


def find_p95(api: int, repeat: int) -> tuple[float, str]:
    """The slowest glob's p95 over `repeat` asks, in ms, and that glob."""
    worst = (0.0, "")
    with httpx.Client(base_url=f"http://{HOST}:{api}", timeout=60) as client:
        for glob in GLOBS:
            client.get("/metrics/find", params={"query": glob})
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                response = client.get("/metrics/find", params={"query": glob})
                times.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
            worst = max(worst, (p95(times), glob))
    return worst


@dataclass(frozen=True)
class Row:
    """One size's figures; memory in MiB."""

    paths: int
    peak: float
    """Peak RSS of the server and its parse workers together."""
    server_peak: float
    server_settled: float
    """The server's RSS once everything is written: what it keeps."""
    find_p95: float
    """The slowest glob's p95, in ms."""
    slowest_glob: str
    restart: float
    """Seconds from the new process to its serving line."""
    restart_peak: float
    """Peak RSS of the restarted server, which read every path back from the store."""


def process_rss_mib(pid: int, field: str) -> float:
    """`VmHWM` (peak) or `VmRSS` (now) of the one process `pid`, without its children."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(size: int, repeat: int) -> Row:
    with tempfile.TemporaryDirectory() as tmp:
        with running_server(Path(tmp)) as (process, ports):
            paths = fill(ports["carbon"], size)
            wait_settled(ports["api"], paths, SETTLE_TIMEOUT)
            peak = peak_rss_mib(process.pid)
            server_peak = process_rss_mib(process.pid, "VmHWM")
            server_settled = process_rss_mib(process.pid, "VmRSS")
            slowest, glob = find_p95(ports["api"], repeat)
            stop_server(process, timeout=SETTLE_TIMEOUT)
        began = time.perf_counter()
        with running_server(Path(tmp)) as (process, _):
            restart = time.perf_counter() - began
            restart_peak = peak_rss_mib(process.pid)
            stop_server(process, timeout=SETTLE_TIMEOUT)
    return Row(paths, peak, server_peak, server_settled, slowest, glob, restart, restart_peak)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,1000000,3000000,10000000")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    print(
        f"{'series':>12} {'peak RSS MiB':>13} {'per series B':>13} {'server peak':>12} "
        f"{'settled':>8} {'restart s':>10} {'its peak':>9} {'find p95 ms':>12}  slowest glob"
    )
    row = None
    for size in map(int, args.sizes.split(",")):
        row = measure(size, args.repeat)
        print(
            f"{row.paths:>12,} {row.peak:>13,.0f} {row.peak * 2**20 / row.paths:>13,.0f} "
            f"{row.server_peak:>12,.0f} {row.server_settled:>8,.0f} {row.restart:>10.1f} "
            f"{row.restart_peak:>9,.0f} {row.find_p95:>12.1f}  {row.slowest_glob}",
            flush=True,
        )
    print(load_average())
    if row is None or row.paths < TARGET_SERIES:
        print(f"(the targets are set at {TARGET_SERIES:,} series: no verdict)")
        return
    verdict(f"peak RSS with {row.paths:,} series", row.peak, "MiB", "<=", 6 * 1024)
    verdict(f"restart with {row.paths:,} paths", row.restart, "s", "<=", 30)
    verdict(f"/metrics/find p95 at {row.paths:,} paths", row.find_p95, "ms", "<=", 10)


if __name__ == "__main__":
    main()
