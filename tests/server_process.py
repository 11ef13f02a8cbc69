"""`cyanite-py serve` as a real process: configured by a YAML file, fed over TCP, read over
HTTP, stopped by a signal, so tests see exactly what a supervisor and a user see."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

START_SECONDS = 30


class ServerProcess:
    """One server process; its log lines are collected as it runs."""

    def __init__(self, config: Path, preexec_fn: Callable[[], None] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cyanite_py.cli", "serve", "--config", str(config)],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=preexec_fn,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()
        self.ports: dict[str, int] = {}

    def _collect(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wait_until_serving(self) -> ServerProcess:
        """Wait for the line that names every port, and remember them."""
        wait_until(lambda: "serving: HTTP on" in self.log or self.process.poll() is not None)
        found = re.search(r"serving: HTTP on (\d+); (.*)", self.log)
        assert found, f"the server did not start:\n{self.log}"
        self.ports = {"api": int(found.group(1))}
        for part in found.group(2).split(","):
            kind, _, port = part.strip().partition(" on ")
            self.ports.setdefault(kind, int(port))
        return self

    def send_lines(self, text: str) -> None:
        with socket.create_connection(("127.0.0.1", self.ports["carbon"])) as sock:
            sock.sendall(text.encode())

    def get(self, route: str, **params: Any) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.ports['api']}{route}", params=params, timeout=30)

    def counter(self, name: str) -> float:
        """A counter summed over its labels, from /prometheus."""
        text = self.get("/prometheus").text
        pattern = rf"^cyanite_{name}_total(?:{{[^}}]*}})? (\S+)$"
        return sum(float(value) for value in re.findall(pattern, text, re.MULTILINE))

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 60) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code


def write_config(path: Path, database: Path, **sections: str) -> Path:
    """A YAML file: carbon and HTTP on free loopback ports, SQLite at `database`, no
    self-reporting; each keyword replaces a section with its YAML text."""
    text = {
        "input": "[{type: carbon, host: 127.0.0.1, port: 0}]",
        "api": "{host: 127.0.0.1, port: 0}",
        "store": f"{{type: sqlite, path: '{database}'}}",
        "reporter": "{enabled: false}",
    } | sections
    path.write_text("".join(f"{key}: {value}\n" for key, value in text.items()))
    return path


def wait_until(condition: Callable[[], bool], timeout: float = START_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def series_total(response: httpx.Response) -> float:
    """The sum of every value of every series in a /metrics answer."""
    series = response.json()["series"]
    return float(sum(v for values in series.values() for v in values if v is not None))
