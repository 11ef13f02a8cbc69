"""Receiving datagrams under trio, shared by the UDP inputs."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator

import trio

MAX_DATAGRAM = 65535


async def receive_datagrams(
    host: str,
    port: int,
    task_status: trio.TaskStatus[int],
    receive_buffer: int = 4 * 1024 * 1024,
) -> AsyncIterator[bytes]:
    """Bind `host:port` (0 picks a free port), report the bound port, yield each datagram."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with trio.socket.socket(family, socket.SOCK_DGRAM) as sock:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        await sock.bind((host, port))
        task_status.started(sock.getsockname()[1])
        while True:
            yield await sock.recv(MAX_DATAGRAM)
