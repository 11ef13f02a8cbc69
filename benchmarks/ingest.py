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
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx


def build_payloads(series: int, points: int, connections: int, start: int) -> list[bytes]:
    """One payload per connection; each series goes to one connection, in time order."""
    payloads = []
    for connection in range(connections):
        names = [
            f"bench.host{i % 100:03d}.metric{i}" for i in range(connection, series, connections)
        ]
        lines = []
        for step in range(points):
            timestamp = start + step * 10
            lines.extend(f"{name} {step % 97}.5 {timestamp}\n" for name in names)
        payloads.append("".join(lines).encode())
    return payloads


def start_server(workdir: Path) -> tuple[subprocess.Popen[str], dict[str, int]]:
    config = workdir / "cyanite.yaml"
    config.write_text(
        "input:\n  - {type: carbon, host: 127.0.0.1, port: 0}\n"
        "api: {host: 127.0.0.1, port: 0}\n"
        f"store: {{type: sqlite, path: '{workdir / 'cyanite.db'}'}}\n"
        "engine: {rules: {default: ['10s:1d', '5m:30d']}}\n"
        "reporter: {enabled: false}\n"
        "writer: {shutdown_timeout: 600}\n"
        "logging: {level: info}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "cyanite_py.cli", "serve", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stderr is not None
    os.set_blocking(process.stderr.fileno(), True)
    ports = _read_ports(process)
    return process, ports


def _read_ports(process: subprocess.Popen[str]) -> dict[str, int]:
    assert process.stderr is not None
    for line in process.stderr:
        found = re.search(r"serving: HTTP on (\d+); carbon on (\d+)", line)
        if found:
            threading.Thread(
                target=lambda: process.stderr and process.stderr.read(), daemon=True
            ).start()
            return {"api": int(found.group(1)), "carbon": int(found.group(2))}
    raise SystemExit("the server did not start")


def counter(api: int, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{api}/prometheus", timeout=30).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def send(port: int, payload: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(payload)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    total = args.series * args.points
    start = int(time.time()) - args.points * 10 - 60
    start -= start % 300
    payloads = build_payloads(args.series, args.points, args.connections, start)
    with tempfile.TemporaryDirectory() as tmp:
        process, ports = start_server(Path(tmp))
        try:
            began = time.perf_counter()
            senders = [threading.Thread(target=send, args=(ports["carbon"], p)) for p in payloads]
            for thread in senders:
                thread.start()
            for thread in senders:
                thread.join()
            while counter(ports["api"], "cyanite_engine_points_total") < total:
                time.sleep(0.05)
            aggregated = time.perf_counter() - began
            rss = peak_rss_mib(process.pid)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=900)
            flushed = time.perf_counter() - began
        finally:
            if process.poll() is None:
                process.kill()
    print(
        f"payload: {args.series} series x {args.points} points = {total} points, "
        f"{sum(map(len, payloads)) / 2**20:.1f} MiB over {args.connections} connections"
    )
    print(f"aggregated: {total / aggregated:,.0f} points/s ({aggregated:.2f} s)")
    print(f"flushed to SQLite and stopped: {total / flushed:,.0f} points/s ({flushed:.2f} s)")
    print(f"server peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
