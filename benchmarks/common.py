"""What the end-to-end benchmarks share: carbon payloads, a `cyanite-py serve` subprocess on
free loopback ports, reading its counters, latency statistics, and the one-line verdicts
that `benchmarks/targets.py` collects into its table.

Everything listens on and talks to 127.0.0.1 only.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml

from cyanite_py.model import PathTable, Resolution, Series, SnapshotBatch
from cyanite_py.store.base import Store

HOST = "127.0.0.1"
STORE_RESOLUTIONS = (Resolution(10, 86400), Resolution(60, 7 * 86400))
REPO = Path(__file__).resolve().parent.parent
VERDICT_PREFIX = "target |"


def flush_batch(table: PathTable, step: int, base: int) -> SnapshotBatch:
    """One engine-shaped flush for the store benchmarks: every path of `table` at both
    `STORE_RESOLUTIONS`, at window `step` after `base`, named by its key as the engine
    names it."""
    n = len(table.names)
    ramp = np.arange(n, dtype=np.float64)
    out = SnapshotBatch.joined(
        [
            SnapshotBatch(
                table,
                np.arange(n, dtype=np.int64),
                np.full(n, resolution.precision),
                np.full(n, resolution.period),
                np.full(n, base + resolution.precision * step),
                np.full(n, 3),
                ramp + step,
                ramp,
                ramp + 2 * step,
            )
            for resolution in STORE_RESOLUTIONS
        ]
    )
    out.new_paths = list(table.names) if step == 0 else []
    return out


async def write_all(store: Store, paths: list[str], windows: int, base: int) -> float:
    """Snapshots per second over `windows` flushes; building the batches is not timed."""
    elapsed = 0.0
    written = 0
    table = PathTable(paths)
    for step in range(windows):
        batch = flush_batch(table, step, base)
        started = time.perf_counter()
        await store.write(batch)
        elapsed += time.perf_counter() - started
        written += len(batch)
    return written / elapsed


def stored_windows(found: dict[str, Series]) -> int:
    """How many windows a store read returned: the values that are not NaN."""
    return sum(int(np.count_nonzero(~np.isnan(series.values))) for series in found.values())


def series_name(index: int) -> str:
    """The benchmark's series names: a hundred hosts, one metric per series."""
    return f"bench.host{index % 100:03d}.metric{index}"


def history_start(points: int, step: int = 10) -> int:
    """A start time, aligned to 5 minutes, whose `points` steps end a minute ago: every
    window of the history closes as the next one opens, and all of it is within a day."""
    start = int(time.time()) - points * step - 60
    return start - start % 300


def one_point_each(names: Sequence[str], connections: int, timestamp: int) -> list[bytes]:
    """One point for every name, the names dealt round-robin over the connections."""
    return [
        "".join(f"{name} 1.5 {timestamp}\n" for name in names[first::connections]).encode()
        for first in range(connections)
    ]


def build_payloads(series: int, points: int, connections: int, start: int) -> list[bytes]:
    """One payload per connection; each series goes to one connection, in time order."""
    payloads = []
    for connection in range(connections):
        names = [series_name(i) for i in range(connection, series, connections)]
        lines: list[str] = []
        for step in range(points):
            timestamp = start + step * 10
            lines.extend(f"{name} {step % 97}.5 {timestamp}\n" for name in names)
        payloads.append("".join(lines).encode())
    return payloads


def free_port() -> int:
    """A loopback TCP port free now, for a server that cannot bind port 0 and report it."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def send(port: int, payload: bytes) -> None:
    with socket.create_connection((HOST, port)) as sock:
        sock.sendall(payload)


def send_concurrently(port: int, payloads: Sequence[bytes]) -> None:
    """Send each payload over its own connection at once, as independent clients do."""
    senders = [threading.Thread(target=send, args=(port, payload)) for payload in payloads]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()


def server_config(workdir: Path, **sections: Any) -> dict[str, Any]:
    """Carbon and HTTP on free loopback ports, SQLite in `workdir`, no self-reporting;
    `sections` replace whole sections."""
    config: dict[str, Any] = {
        "input": [{"type": "carbon", "host": HOST, "port": 0}],
        "api": {"host": HOST, "port": 0},
        "store": {"type": "sqlite", "path": str(workdir / "cyanite.db")},
        "engine": {"rules": {"default": ["10s:1d", "5m:30d"]}},
        "reporter": {"enabled": False},
        "writer": {"shutdown_timeout": 600},
        "logging": {"level": "info"},
    }
    config.update(sections)
    return config


def start_server(workdir: Path, **sections: Any) -> tuple[subprocess.Popen[str], dict[str, int]]:
    """Run `cyanite-py serve` with `server_config(workdir, **sections)`; return the process
    and its bound ports (`api`, `carbon`) once it logs that it is serving."""
    config = workdir / "cyanite.yaml"
    config.write_text(yaml.safe_dump(server_config(workdir, **sections)))
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
    """Wait for the "serving:" log line, then keep draining stderr so the server never
    blocks on a full pipe."""
    assert process.stderr is not None
    for line in process.stderr:
        found = re.search(r"serving: HTTP on (\d+); carbon on (\d+)", line)
        if found:
            threading.Thread(
                target=lambda: process.stderr and process.stderr.read(), daemon=True
            ).start()
            return {"api": int(found.group(1)), "carbon": int(found.group(2))}
    raise SystemExit("the server did not start")


@contextmanager
def running_server(
    workdir: Path, **sections: Any
) -> Iterator[tuple[subprocess.Popen[str], dict[str, int]]]:
    """A started server and its ports for the block; it is killed if still running after."""
    process, ports = start_server(workdir, **sections)
    try:
        yield process, ports
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def stop_server(process: subprocess.Popen[str], timeout: float) -> None:
    """SIGTERM (flush every window, drain the writer, exit) and wait for the exit."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"the server did not stop within {timeout:.0f} s") from None


def metric(api: int, name: str) -> float:
    """A counter or gauge from `/prometheus`, summed over its labels."""
    text = httpx.get(f"http://{HOST}:{api}/prometheus", timeout=60).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if re.split(r"[{ ]", line, maxsplit=1)[0] == name
    )


def wait_for(api: int, name: str, at_least: float, timeout: float, poll: float = 0.05) -> None:
    """Poll a counter until it reaches `at_least`; give up (exit) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while metric(api, name) < at_least:
        if time.monotonic() > deadline:
            raise SystemExit(f"{name} stayed under {at_least:,.0f} for {timeout:.0f} s")
        time.sleep(poll)


def wait_settled(api: int, paths: int, timeout: float) -> None:
    """Wait until the index holds `paths` paths and the writer has nothing buffered, then
    a second more for its last SQLite batch: figures taken after are not the ingestion's."""
    wait_for(api, "cyanite_index_paths", paths, timeout)
    deadline = time.monotonic() + timeout
    while metric(api, "cyanite_store_buffer_snapshots") > 0:
        if time.monotonic() > deadline:
            raise SystemExit(f"the store writer still held snapshots after {timeout:.0f} s")
        time.sleep(0.1)
    time.sleep(1)


def peak_rss_mib(pid: int) -> float:
    """The high-water resident set size (VmHWM) of the process plus each of its children
    (the parse workers), in MiB: an upper bound on their peak together."""
    return sum(_status_mib(each, "VmHWM") for each in [pid, *_children(pid)])


def rss_mib(pid: int) -> float:
    """The resident set size now (VmRSS) of the process and its children, in MiB."""
    return sum(_status_mib(each, "VmRSS") for each in [pid, *_children(pid)])


def _status_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _children(pid: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, to print beside figures from a shared machine."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def verdict(what: str, figure: float, unit: str, comparison: str, target: float) -> bool:
    """Print `figure` beside its target with "met" or "not met", in the one-line form
    `targets.py` collects; `comparison` is how the figure must compare: >=, >, <= or <."""
    met = {
        ">=": figure >= target,
        ">": figure > target,
        "<=": figure <= target,
        "<": figure < target,
    }[comparison]
    shown = f"{figure:,.0f}" if abs(figure) >= 1000 else f"{figure:,.1f}"
    print(
        f"{VERDICT_PREFIX} {what} | {shown} {unit} | {comparison} {target:,.0f} {unit} "
        f"| {'met' if met else 'not met'}"
    )
    return met
