"""Ingestion target, side by side with carbon-cache: the same carbon plaintext payload
(N series x K points of history at 10 s, over C TCP connections at once) into cyanite-py
and into carbon-cache 1.1.10, each with two resolutions per series (10s:1d, 5m:30d).

Both are timed from the first byte sent until the server has counted every point, then
SIGTERM, until the process has exited with everything on disk: the "on disk" figure, the
median over `--runs`, is the one held against the targets (cyanite-py >= 1,000,000
points/s, and >= 10x carbon-cache).

- cyanite-py: `cyanite-py serve` with the default SQLite store in a temporary directory;
  "counted" is its `engine_points` counter; on SIGTERM it flushes every open window and
  drains its writer into SQLite before exiting.
- carbon-cache: installed by this script from PyPI (carbon, whisper and Twisted, pinned
  below) into a virtualenv of this Python under `.cache/bench-carbon`, and run on free
  loopback ports with a generated carbon.conf (no rate limits, unbounded cache, no
  per-update logs, whisper fallocate as carbon's example configuration has it) and
  storage-schemas.conf, its whisper files in a temporary directory. "Counted" is its own
  instrumentation: with CARBON_METRIC_INTERVAL = 1 it records `metricsReceived` (points
  received since the previous record) every second as a point of
  `carbon.agents.<host>-a.metricsReceived`, kept at 1 s precision by its own schema; the
  benchmark adds up those points from the whisper file and from what carbon's cache query
  port says is still cached. On SIGTERM carbon-cache stops listening and its writer thread
  drains the whole cache into whisper before the process exits. Afterwards (not timed)
  every series' whisper file is read to check that it holds all its points. Recording
  once a second can add up to a second to carbon-cache's time.

    .venv/bin/python benchmarks/ingest_compare.py [--runs 3] [--series 10000] [--points 100]
"""

from __future__ import annotations

import argparse
import os
import pickle
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from common import (
    HOST,
    REPO,
    build_payloads,
    free_port,
    history_start,
    load_average,
    metric,
    running_server,
    send_concurrently,
    series_name,
    stop_server,
    verdict,
)

CARBON_VENV = REPO / ".cache" / "bench-carbon"
CARBON_PACKAGES = ("carbon==1.1.10", "whisper==1.1.10", "Twisted==26.10.0")
RETENTIONS = "10s:1d,5m:30d"
RUN_TIMEOUT = 900
WHISPER_POINT = np.dtype([("time", ">u4"), ("value", ">f8")])


def timed_cyanite(payloads: Sequence[bytes], total: int) -> tuple[float, float]:
    """Seconds until every point is aggregated, and until every window is in SQLite."""
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as (process, ports):
        began = time.perf_counter()
        send_concurrently(ports["carbon"], payloads)
        deadline = time.monotonic() + RUN_TIMEOUT
        while metric(ports["api"], "cyanite_engine_points_total") < total:
            if time.monotonic() > deadline:
                raise SystemExit("cyanite-py did not count every point in time")
            time.sleep(0.05)
        aggregated = time.perf_counter() - began
        stop_server(process, timeout=RUN_TIMEOUT)
        if process.returncode != 0:
            raise SystemExit(f"cyanite-py exited with {process.returncode}")
        return aggregated, time.perf_counter() - began


def install_carbon() -> str:
    """Install carbon-cache into its own virtualenv once; describe what was installed."""
    python = CARBON_VENV / "bin" / "python"
    marker = CARBON_VENV / "installed.txt"
    wanted = " ".join(CARBON_PACKAGES)
    if not marker.exists() or marker.read_text() != wanted:
        print(f"installing {wanted} into {CARBON_VENV.relative_to(REPO)}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(CARBON_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *CARBON_PACKAGES],
            check=True,
            # carbon's setup.cfg installs into /opt/graphite unless told otherwise
            env={**os.environ, "GRAPHITE_NO_PREFIX": "True"},
        )
        marker.write_text(wanted)
    described = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m, platform; print(', '.join("
            "f'{p} {m.version(p)}' for p in ('carbon', 'whisper', 'Twisted')),"
            "'on Python', platform.python_version())",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return described.stdout.strip()


def write_carbon_conf(root: Path, ports: dict[str, int]) -> Path:
    """carbon.conf and storage-schemas.conf for an unthrottled cache under `root`."""
    conf = root / "conf"
    conf.mkdir()
    storage = root / "storage"
    settings = {
        "STORAGE_DIR": storage,
        "LOCAL_DATA_DIR": storage / "whisper",
        "WHITELISTS_DIR": storage / "lists",
        "CONF_DIR": conf,
        "LOG_DIR": storage / "log",
        "PID_DIR": storage,
        "USER": "",
        "ENABLE_LOGROTATION": "False",
        "MAX_CACHE_SIZE": "inf",
        "MAX_UPDATES_PER_SECOND": "inf",
        "MAX_CREATES_PER_MINUTE": "inf",
        "LINE_RECEIVER_INTERFACE": HOST,
        "LINE_RECEIVER_PORT": ports["line"],
        "ENABLE_UDP_LISTENER": "False",
        "PICKLE_RECEIVER_INTERFACE": HOST,
        "PICKLE_RECEIVER_PORT": ports["pickle"],
        "CACHE_QUERY_INTERFACE": HOST,
        "CACHE_QUERY_PORT": ports["query"],
        "LOG_UPDATES": "False",
        "LOG_CREATES": "False",
        "LOG_CACHE_HITS": "False",
        "LOG_CACHE_QUEUE_SORTS": "False",
        "WHISPER_FALLOCATE_CREATE": "True",
        "ENABLE_TAGS": "False",
        "CARBON_METRIC_INTERVAL": 1,
    }
    (conf / "carbon.conf").write_text(
        "[cache]\n" + "".join(f"{key} = {value}\n" for key, value in settings.items())
    )
    (conf / "storage-schemas.conf").write_text(
        "[carbon]\npattern = ^carbon\\.\nretentions = 1s:1d\n\n"
        f"[default]\npattern = .*\nretentions = {RETENTIONS}\n"
    )
    return conf / "carbon.conf"


def start_carbon(root: Path, ports: dict[str, int]) -> subprocess.Popen[bytes]:
    """Run carbon-cache in the foreground, logging to a file, until its ports accept."""
    config = write_carbon_conf(root, ports)
    with (root / "carbon-cache.log").open("wb") as log:
        process = subprocess.Popen(
            [
                str(CARBON_VENV / "bin" / "python"),
                str(CARBON_VENV / "bin" / "carbon-cache.py"),
                f"--config={config}",
                "--debug",
                "start",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=root,
            env={**os.environ, "GRAPHITE_ROOT": str(root)},
        )
    deadline = time.monotonic() + 60
    for port in (ports["query"], ports["line"]):
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"carbon-cache did not start; see {root / 'carbon-cache.log'}")
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
    return process


def whisper_archive(path: Path, archive: int = 0) -> np.ndarray[tuple[int], np.dtype[np.void]]:
    """One archive of a whisper file as (time, value) records; unwritten slots have time 0."""
    with path.open("rb") as file:
        header = file.read(16 + 12 * (archive + 1))
        offset, _, points = struct.unpack_from("!3L", header, 16 + 12 * archive)
        file.seek(offset)
        return np.frombuffer(file.read(points * WHISPER_POINT.itemsize), WHISPER_POINT)


def cached_points(port: int, name: str) -> list[tuple[float, float]]:
    """What carbon-cache holds in memory for `name`, through its cache query protocol."""
    request = pickle.dumps({"type": "cache-query", "metric": name}, protocol=2)
    with socket.create_connection((HOST, port), timeout=30) as sock:
        sock.sendall(struct.pack("!L", len(request)) + request)
        stream = sock.makefile("rb")
        (size,) = struct.unpack("!L", stream.read(4))
        answer = pickle.loads(stream.read(size))
    points: list[tuple[float, float]] = answer["datapoints"]
    return points


def carbon_received(root: Path, query_port: int) -> float:
    """carbon-cache's own count of points received: its self-metric, on disk and cached."""
    name = f"carbon.agents.{socket.gethostname().replace('.', '_')}-a.metricsReceived"
    path = root / "storage" / "whisper" / (name.replace(".", "/") + ".wsp")
    on_disk = 0.0
    if path.exists():
        records = whisper_archive(path)
        on_disk = float(records["value"][records["time"] != 0].sum())
    return on_disk + sum(value for _, value in cached_points(query_port, name))


def whisper_points(root: Path, series: int) -> int:
    """Points held at the finest resolution across every series' whisper file."""
    whisper = root / "storage" / "whisper"
    total = 0
    for index in range(series):
        path = whisper / (series_name(index).replace(".", "/") + ".wsp")
        if path.exists():
            total += int(np.count_nonzero(whisper_archive(path)["time"]))
    return total


def timed_carbon(payloads: Sequence[bytes], series: int, total: int) -> tuple[float, float, int]:
    """Seconds until carbon-cache has received every point, until it has exited with
    its cache written to whisper, and the points then found in the whisper files."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ports = {"line": free_port(), "pickle": free_port(), "query": free_port()}
        process = start_carbon(root, ports)
        try:
            began = time.perf_counter()
            send_concurrently(ports["line"], payloads)
            deadline = time.monotonic() + RUN_TIMEOUT
            while carbon_received(root, ports["query"]) < total:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(f"carbon-cache did not receive every point; see {root}")
                time.sleep(0.2)
            received = time.perf_counter() - began
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=RUN_TIMEOUT)
            on_disk = time.perf_counter() - began
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        return received, on_disk, whisper_points(root, series)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--no-carbon", action="store_true", help="time cyanite-py only")
    args = parser.parse_args()
    total = args.series * args.points
    carbon = None if args.no_carbon else install_carbon()
    payloads = build_payloads(
        args.series, args.points, args.connections, history_start(args.points)
    )
    print(
        f"payload: {args.series:,} series x {args.points} points = {total:,} points, "
        f"{sum(map(len, payloads)) / 2**20:.1f} MiB over {args.connections} connections; "
        f"resolutions {RETENTIONS}"
    )
    ours = []
    for run in range(1, args.runs + 1):
        aggregated, on_disk = timed_cyanite(payloads, total)
        ours.append(total / on_disk)
        print(
            f"cyanite-py run {run}: aggregated {total / aggregated:,.0f} points/s "
            f"({aggregated:.2f} s); in SQLite and stopped {total / on_disk:,.0f} points/s "
            f"({on_disk:.2f} s); {load_average()}",
            flush=True,
        )
    theirs = []
    for run in range(1, (args.runs if carbon else 0) + 1):
        received, on_disk, found = timed_carbon(payloads, args.series, total)
        theirs.append(total / on_disk)
        print(
            f"carbon-cache run {run}: received {total / received:,.0f} points/s "
            f"({received:.2f} s); in whisper and stopped {total / on_disk:,.0f} points/s "
            f"({on_disk:.2f} s); whisper files hold {found:,} of {total:,} points; "
            f"{load_average()}",
            flush=True,
        )
        if found != total:
            raise SystemExit("carbon-cache lost points: its figure would not be comparable")
    ours_median = statistics.median(ours)
    print(f"cyanite-py, median of {len(ours)}: {ours_median:,.0f} points/s")
    verdict(f"ingestion into SQLite (median of {len(ours)})", ours_median, "points/s", ">=", 1e6)
    if carbon:
        theirs_median = statistics.median(theirs)
        print(f"carbon-cache ({carbon}), median of {len(theirs)}: {theirs_median:,.0f} points/s")
        verdict("ingestion vs carbon-cache 1.1.10", ours_median / theirs_median, "x", ">=", 10)


if __name__ == "__main__":
    main()
