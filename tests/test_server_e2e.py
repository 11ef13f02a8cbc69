"""The whole server on real sockets: carbon in over TCP, UDP and pickle, read back over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import httpx
import numpy as np
import trio

from cyanite_py.store.blocks import RECORD
from cyanite_py.store.groups import Group
from tests.helpers import now, running_server, server_config


async def test_plaintext_points_show_in_metrics_before_any_flush() -> None:
    async with running_server(server_config()) as s:
        t = now()
        await s.send_lines(f"web.01.cpu 10 {t}\nweb.01.cpu 30 {t}\nweb.02.cpu 5 {t}\n")
        await s.until("engine_points", 3)
        body = await s.metrics(path="web.*.cpu", **{"from": str(t - 60)})
        assert body["step"] == 10
        assert body["series"]["web.01.cpu"][-1] == 20.0
        assert body["series"]["web.02.cpu"][-1] == 5.0
        high = await s.metrics(path="web.01.cpu", agg="max", **{"from": str(t - 60)})
        assert high["series"]["web.01.cpu"][-1] == 30.0


async def test_udp_and_pickle_points_arrive() -> None:
    async with running_server(server_config()) as s:
        t = now()
        await s.send_udp(f"udp.metric 7 {t}\n")
        await s.send_pickle([("pickled.metric", (t, 2.5)), ("pickled.metric", (t, 3.5))])
        await s.until("engine_points", 3)
        body = await s.metrics(
            path=["udp.metric", "pickled.metric"], agg="sum", **{"from": "-1min"}
        )
        assert body["series"]["udp.metric"][-1] == 7.0
        assert body["series"]["pickled.metric"][-1] == 6.0


async def test_bad_lines_are_counted_and_the_good_ones_flow() -> None:
    async with running_server(server_config()) as s:
        t = now()
        await s.send_lines(f"good.a 1 {t}\nthis is not carbon at all\ngood.b x {t}\ngood.c 3 {t}\n")
        await s.until("engine_points", 2)
        paths = await s.http.get("/paths", params={"query": "good.*"})
        assert [node["path"] for node in paths.json()] == ["good.a", "good.c"]
        prometheus = (await s.http.get("/prometheus")).text
        assert 'reason="fields"' in prometheus
        assert 'reason="value"' in prometheus


async def test_the_servers_own_counters_are_written_under_its_prefix() -> None:
    async with running_server(
        server_config(reporter={"interval": 1, "prefix": "self.{host}"})
    ) as s:
        await s.send_lines(f"some.metric 1 {now()}\n")
        with trio.fail_after(10):
            while True:
                nodes = (await s.http.get("/paths", params={"query": "self.*.*"})).json()
                if any(node["text"] == "input_points_received" for node in nodes):
                    break
                await trio.sleep(0.2)


async def test_points_survive_a_restart_with_the_sqlite_store(tmp_path: Path) -> None:
    config = server_config(store={"type": "sqlite", "path": str(tmp_path / "cyanite.db")})
    t = now() - 120
    t -= t % 10  # both points in one 10 s window
    async with running_server(config) as s:
        await s.send_lines(f"kept.metric 4 {t}\nkept.metric 6 {t + 1}\nother.one 1 {t}\n")
        await s.until("engine_points", 3)
    async with running_server(config) as s:
        paths = await s.http.get("/paths", params={"query": "*"})
        assert {node["path"] for node in paths.json()} == {"kept", "other"}
        body = await s.metrics(path="kept.metric", **{"from": str(t - 60), "to": str(t + 60)})
        values = [v for v in body["series"]["kept.metric"] if v is not None]
        assert values == [5.0]


def test_sigterm_flushes_every_open_window_and_exits_zero(tmp_path: Path) -> None:
    config = tmp_path / "cyanite.yaml"
    database = tmp_path / "cyanite.db"
    config.write_text(
        "input:\n"
        "  - {type: carbon, host: 127.0.0.1, port: 0}\n"
        "api: {host: 127.0.0.1, port: 0}\n"
        f"store: {{type: sqlite, path: '{database}'}}\n"
        "engine: {rules: {default: ['1h:7d']}}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "cyanite_py.cli", "serve", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stderr is not None
    ports = _wait_for_ports(process.stderr)
    t = now()
    lines = "".join(f"flushed.metric.{i} {i} {t}\n" for i in range(1000))
    with socket.create_connection(("127.0.0.1", ports["carbon"])) as sock:
        sock.sendall(lines.encode())
    _wait_until(lambda: _point_count(ports["api"], t) == 1000)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0

    with sqlite3.connect(database) as db:
        blocks = [data for (data,) in db.execute("SELECT data FROM block")]
        writes = [Group.decode(data).records for (data,) in db.execute("SELECT data FROM recent")]
    stored = np.concatenate([np.frombuffer(b"".join(blocks), dtype=RECORD), *writes])
    assert (len(stored), stored["sum"].sum()) == (1000, sum(range(1000)))


def _wait_for_ports(stderr: Iterable[str]) -> dict[str, int]:
    for line in stderr:
        if "serving: HTTP on" in line:
            parts = line.split("serving: HTTP on ")[1].replace(";", ",").split(",")
            ports = {"api": int(parts[0])}
            for part in parts[1:]:
                kind, _, port = part.strip().partition(" on ")
                ports.setdefault(kind, int(port))
            return ports
    raise AssertionError("the server never said where it listens")


def _point_count(api_port: int, t: int) -> int:
    response = httpx.get(
        f"http://127.0.0.1:{api_port}/metrics",
        params={"path": "flushed.metric.*", "from": str(t - 3600), "agg": "count"},
    )
    series = response.json()["series"]
    return int(sum(v for values in series.values() for v in values if v is not None))


def _wait_until(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
