"""Carbon plaintext over TCP and, when enabled, UDP.

TCP chunks are parsed in `parse_workers` worker processes (0 parses them in the server's
own), which takes parsing off the interpreter that aggregates. TCP readers wait for room
in the engine's queue, so a slow engine slows the senders down (back-pressure) instead of
growing memory. UDP cannot push back: a datagram that finds the queue full is dropped and
counted; datagrams are parsed in the server, being small and unordered anyway.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Literal

import trio
from pydantic import NonNegativeInt, PositiveInt

from cyanite_py.carbon.lines import parse_chunk
from cyanite_py.counters import Registry
from cyanite_py.inputs.counting import InputCounters
from cyanite_py.inputs.parse_pool import DRAIN_SECONDS, ParseWorkers
from cyanite_py.inputs.tcp_limits import ConnectionGate, raise_open_files_limit
from cyanite_py.inputs.udp import DEFAULT_RECEIVE_BUFFER, receive_datagrams
from cyanite_py.model import EngineBatch, KeyedPoints
from cyanite_py.settings import Duration, settings

log = logging.getLogger(__name__)


@settings
class CarbonInputConfig:
    type: Literal["carbon"] = "carbon"
    host: str = "0.0.0.0"
    port: int = 2003
    udp: bool = False
    receive_buffer: PositiveInt = DEFAULT_RECEIVE_BUFFER
    """Bytes of UDP receive buffer asked of the kernel (the log says what it granted)."""
    max_line_length: int = 16384
    read_size: int = 256 * 1024
    parse_workers: NonNegativeInt = 1
    max_connections: PositiveInt = 512
    """TCP connections open at once; more are closed as they arrive."""
    idle_timeout: Duration = 300
    """Seconds a TCP connection may send nothing before it is closed."""


class CarbonInput:
    """Serves carbon's plaintext protocol; `run` reports the TCP port it bound."""

    def __init__(
        self,
        config: CarbonInputConfig,
        send: trio.MemorySendChannel[EngineBatch],
        registry: Registry,
        drain_seconds: float = DRAIN_SECONDS,
    ) -> None:
        """`drain_seconds` bounds how long a stopping input waits for its parse workers to
        deliver what they hold (the server passes its `writer.shutdown_timeout`)."""
        self.config = config
        self._send = send
        self._tcp = InputCounters(registry, "carbon_tcp", config.port)
        self._registry = registry
        self._gate = ConnectionGate(config.max_connections, config.idle_timeout, self._tcp)
        self._workers = (
            ParseWorkers(
                config.parse_workers,
                config.max_line_length,
                self._deliver,
                self._tcp,
                drain_seconds,
            )
            if config.parse_workers
            else None
        )

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        raise_open_files_limit()
        async with self._send, trio.open_nursery() as workers:
            if self._workers is not None:
                workers.start_soon(self._workers.run)
            try:
                await self._serve(task_status)
            finally:
                if self._workers is not None:
                    self._workers.close()

    async def _serve(self, task_status: trio.TaskStatus[int]) -> None:
        async with trio.open_nursery() as nursery:
            serve = partial(trio.serve_tcp, host=self.config.host)
            listeners = await nursery.start(serve, self._serve_connection, self.config.port)
            port = listeners[0].socket.getsockname()[1]
            self._tcp.bound(port)
            log.info("carbon plaintext listening on %s:%d/tcp", self.config.host, port)
            if self.config.udp:
                await nursery.start(self._serve_udp, port)
                log.info("carbon plaintext listening on %s:%d/udp", self.config.host, port)
            task_status.started(port)

    async def _serve_connection(self, stream: trio.SocketStream) -> None:
        with self._gate.place(stream) as admitted:
            if admitted:
                await self._read_lines(stream)
            else:
                await stream.aclose()

    async def _read_lines(self, stream: trio.SocketStream) -> None:
        counters = self._tcp
        forward = self._parse_here if self._workers is None else self._workers.lane().send
        limit = self.config.max_line_length
        pending = b""
        skipping = False
        async with stream:
            while True:
                data = await self._gate.receive(stream, self.config.read_size)
                if not data:
                    break
                counters.bytes.inc(len(data))
                cut = data.rfind(b"\n")
                if cut < 0:
                    pending += data
                    if len(pending) > limit:
                        skipping, pending = self._skip_long(skipping)
                    continue
                chunk, pending = pending + data[: cut + 1], data[cut + 1 :]
                if skipping:
                    chunk = chunk[chunk.find(b"\n") + 1 :]
                    skipping = False
                await forward(chunk)
                if len(pending) > limit:
                    skipping, pending = self._skip_long(skipping)
            if pending and not skipping:
                await forward(pending)

    def _skip_long(self, skipping: bool) -> tuple[bool, bytes]:
        """Drop an unterminated line past the limit, reading on to its end."""
        if not skipping:
            self._tcp.reject("too_long")
        return True, b""

    async def _parse_here(self, chunk: bytes) -> None:
        batch = parse_chunk(chunk, int(time.time()), self.config.max_line_length, self._tcp.reject)
        if len(batch):
            self._tcp.points.inc(len(batch))
            await self._send.send(batch)

    async def _deliver(self, points: KeyedPoints) -> None:
        self._tcp.points.inc(len(points))
        await self._send.send(points)

    async def _serve_udp(
        self, port: int, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
    ) -> None:
        counters = InputCounters(self._registry, "carbon_udp", port)  # only when UDP is on
        datagrams = receive_datagrams(
            self.config.host, port, task_status, counters, self.config.receive_buffer
        )
        async for datagram in datagrams:
            counters.datagram(len(datagram))
            now = int(time.time())
            counters.offer(
                self._send, parse_chunk(datagram, now, self.config.max_line_length, counters.reject)
            )
