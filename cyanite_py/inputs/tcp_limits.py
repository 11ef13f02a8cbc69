"""Bounds on a TCP input's connections: how many at once, and how long one may stay idle.

Each connection holds a descriptor and a buffer, so without bounds a client can open
sockets until the process cannot accept HTTP requests or open files any more. A
connection past `max_connections` is closed as soon as it is accepted, one silent for
`idle_timeout` seconds is closed, and each is counted as a rejection of its input.
"""

from __future__ import annotations

import logging
import resource
from collections.abc import Iterator
from contextlib import contextmanager

import trio

from cyanite_py.inputs.counting import InputCounters

log = logging.getLogger(__name__)


class ConnectionGate:
    """Admits at most `max_connections` open connections and reads with an idle timeout."""

    def __init__(self, max_connections: int, idle_timeout: float, counters: InputCounters) -> None:
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.open = 0
        self._counters = counters
        counters.registry.gauge(
            "input_connections_open",
            "TCP connections open now",
            lambda: float(self.open),
            input=counters.name,
        )

    @contextmanager
    def place(self, stream: trio.SocketStream) -> Iterator[bool]:
        """Hold a place for this connection for the block, or yield False (counted as
        refused) when none is left."""
        name, peer = self._counters.name, _peer(stream)
        if self.open >= self.max_connections:
            self._counters.reject("too_many_connections")
            log.debug("%s: refused %s: %d open (max_connections)", name, peer, self.open)
            yield False
            return
        self.open += 1
        self._counters.connections.inc()
        log.debug("%s: connection from %s (%d open)", name, peer, self.open)
        try:
            yield True
        finally:
            self.open -= 1
            log.debug("%s: %s closed (%d open)", name, peer, self.open)

    async def receive(self, stream: trio.SocketStream, size: int) -> bytes:
        """The next bytes, or b"" at the end of the stream, a broken one, or an idle one."""
        with trio.move_on_after(self.idle_timeout):
            try:
                return await stream.receive_some(size)
            except trio.BrokenResourceError:
                return b""
        self._counters.reject("idle_timeout")
        return b""


def _peer(stream: trio.SocketStream) -> str:
    """`host:port` of the other end, or `?` once the socket can no longer say."""
    try:
        host, port, *_ = stream.socket.getpeername()
    except OSError:
        return "?"
    return f"{host}:{port}"


def raise_open_files_limit() -> int:
    """Raise this process' soft limit on open files to its hard limit; the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as error:
            log.warning("open files limited to %d: cannot raise it to %d: %s", soft, hard, error)
            return soft
        log.info("open files limit raised from %d to %d", soft, hard)
    return hard
