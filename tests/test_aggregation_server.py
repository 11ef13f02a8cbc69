"""Aggregation per rule through the whole server: carbon lines and sFlow datagrams in over
real sockets, /metrics and /render out over HTTP."""

from __future__ import annotations

import struct
import time
from typing import Any

import trio

from tests.helpers import Running, now, running_server, server_config
from tests.sflow_vectors import interface_datagram, walk

RULES = {
    "rules": {
        r"^counter\.": {"resolutions": ["10s:1h"], "aggregation": "last"},
        "default": ["10s:1h"],
    }
}
SFLOW = {"type": "sflow", "host": "127.0.0.1", "port": 0}
ENO1 = "sflow.192_168_119_184.eno1"
"""The interface of the published datagram `interface_datagram` patches."""


async def window_values(s: Running, paths: list[str], start: int, **params: str) -> list[Any]:
    """Each path's value for the 10 s window at `start`, from /metrics."""
    body = await s.metrics(path=paths, **{"from": str(start), "to": str(start)}, **params)
    assert body["from"] == start
    return [body["series"][path][0] for path in paths]


async def test_metrics_reads_each_path_by_its_rule_unless_agg_says() -> None:
    async with running_server(server_config(engine=RULES)) as s:
        t = now()
        start = t - t % 10 - 20
        lines = "".join(f"{p} 5 {start + 2}\n{p} 6 {start + 7}\n" for p in ("counter.x", "g.x"))
        await s.send_lines(lines)
        await s.until("engine_points", 4)
        paths = ["counter.x", "g.x"]
        assert await window_values(s, paths, start) == [6.0, 5.5]  # last, mean
        assert await window_values(s, paths, start, agg="average") == [5.5, 5.5]
        assert await window_values(s, paths, start, agg="last") == [6.0, 6.0]
        assert await window_values(s, paths, start, agg="count") == [2.0, 2.0]
        refused = await s.http.get("/metrics", params={"path": "g.x", "from": "-1h", "agg": "avg"})
        assert refused.status_code == 400
        assert refused.json()["message"] == (
            "agg must be one of mean, sum, min, max, count, last (or average), not 'avg'"
        )
        rendered = await s.http.get(
            "/render",
            params={"target": "counter.x", "from": str(start - 1), "until": str(start + 9)},
        )
        assert rendered.json()[0]["datapoints"] == [[6.0, start]]


def patched(datagram: bytes, status: int, speed: int) -> bytes:
    """The datagram with its interface's ifStatus and ifSpeed set."""
    data = bytearray(datagram)
    generic = walk(datagram).records[(0, 1)]  # ifIndex, ifType, ifSpeed (64 bits), …
    struct.pack_into(">Q", data, generic + 8, speed)
    struct.pack_into(">I", data, generic + 20, status)
    return bytes(data)


async def test_sflow_counters_and_states_show_their_last_sample_and_gauges_their_mean() -> None:
    first = patched(interface_datagram(1, 1000, 1, 1000, 5), status=1, speed=100)
    second = patched(interface_datagram(2, 3000, 2, 1900, 6), status=3, speed=200)
    async with running_server(server_config(input=[SFLOW])) as s:
        phase = time.time() % 10
        if phase > 7:  # both datagrams in one 10 s window
            await trio.sleep(10 - phase)
        t = now()
        start = t - t % 10
        with trio.socket.socket(type=trio.socket.SOCK_DGRAM) as sock:
            for datagram in (first, second):
                await sock.sendto(datagram, ("127.0.0.1", s.bound.port("sflow")))
        await s.until("input_samples_decoded", 2)
        names = ("if_in_ucast_pkts", "if_in_octets", "if_status", "if_speed")
        paths = [f"{ENO1}.{name}" for name in names]
        assert await window_values(s, paths, start, agg="count") == [2.0, 2.0, 2.0, 2.0]
        assert await window_values(s, paths, start) == [6.0, 1900.0, 3.0, 150.0]
        assert await window_values(s, paths, start, agg="mean") == [5.5, 1450.0, 2.0, 150.0]
