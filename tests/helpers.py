"""Starting a real server on free ports, talking to it as clients do, and waiting for it."""

from __future__ import annotations

import pickle
import struct
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import trio

from cyanite_py.config import Config, parse_config
from cyanite_py.counters import Registry
from cyanite_py.model import EngineBatch, KeyedPoints, PointBatch
from cyanite_py.server import Bound, Server

UNTIL_SECONDS = 10
"""How long `Running.until` waits for a counter."""


async def wait_until(condition: Callable[[], object], interval: float = 0.01) -> None:
    """Return once `condition()` is true; the caller bounds the wait with `trio.fail_after`.

    This polls because what the tests wait for (a counter, a gauge, a buffer's size, a
    worker process, another server) changes without an event to wait on, and the server
    grows no events only for its tests.
    """
    while not condition():  # noqa: ASYNC110 - nothing to wait on (see the docstring)
        await trio.sleep(interval)


async def collect(
    receive: trio.MemoryReceiveChannel[EngineBatch],
    points: int,
    kinds: tuple[type[EngineBatch], ...] = (PointBatch, KeyedPoints),
) -> PointBatch:
    """At least `points` points from an input's queue, with their paths spelled out; every
    batch must be one of `kinds`."""
    out = PointBatch()
    with trio.fail_after(30):
        while len(out) < points:
            batch = await receive.receive()
            assert isinstance(batch, kinds)
            if isinstance(batch, KeyedPoints):
                paths = list(map(batch.table.names.__getitem__, batch.keys.tolist()))
                batch = PointBatch(paths, batch.values.tolist(), batch.times.tolist())
            out.paths += batch.paths
            out.values += batch.values
            out.times += batch.times
    return out


def server_config(**sections: Any) -> Config:
    """Every listener on a free loopback port, quick reporting; `sections` override."""
    data: dict[str, Any] = {
        "input": [
            {"type": "carbon", "host": "127.0.0.1", "port": 0, "udp": True},
            {"type": "pickle", "host": "127.0.0.1", "port": 0},
        ],
        "api": {"host": "127.0.0.1", "port": 0},
        "store": {"type": "memory"},
        "reporter": {"interval": 1},
        "writer": {"shutdown_timeout": 20},
    }
    data.update(sections)
    return parse_config(data)


class Running:
    """A started server and clients for it."""

    def __init__(self, server: Server, bound: Bound) -> None:
        self.server = server
        self.bound = bound
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{bound.api}", timeout=30)

    @property
    def registry(self) -> Registry:
        return self.server.registry

    async def send_lines(self, text: str) -> None:
        stream = await trio.open_tcp_stream("127.0.0.1", self.bound.port("carbon"))
        async with stream:
            await stream.send_all(text.encode())

    async def send_udp(self, text: str) -> None:
        with trio.socket.socket(type=trio.socket.SOCK_DGRAM) as sock:
            await sock.sendto(text.encode(), ("127.0.0.1", self.bound.port("carbon")))

    async def send_pickle(self, items: list[tuple[str, tuple[int, float]]]) -> None:
        payload = pickle.dumps(items, protocol=2)
        stream = await trio.open_tcp_stream("127.0.0.1", self.bound.port("pickle"))
        async with stream:
            await stream.send_all(struct.pack("!I", len(payload)) + payload)

    async def until(self, counter: str, at_least: int) -> None:
        """Wait until a counter (summed over labels) reaches `at_least`, for at most
        `UNTIL_SECONDS`; a longer wait uses `wait_until` under its own deadline."""
        with trio.fail_after(UNTIL_SECONDS):
            await wait_until(lambda: self.registry.total(counter) >= at_least)

    async def metrics(self, **params: Any) -> dict[str, Any]:
        response = await self.http.get("/metrics", params=params)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@asynccontextmanager
async def running_server(config: Config) -> AsyncIterator[Running]:
    """Run a server for the duration of the block, then stop it cleanly (flushing)."""
    server = Server(config)
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(server.run)
        running = Running(server, bound)
        try:
            yield running
        finally:
            await running.http.aclose()
            server.stop()


def now() -> int:
    return int(time.time())
