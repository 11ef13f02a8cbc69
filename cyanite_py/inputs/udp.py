"""Receiving datagrams under trio, shared by the UDP inputs, with the kernel's drops counted.

UDP cannot push back: when the server falls behind, the kernel drops datagrams once the
socket's receive buffer is full, and nothing else would know. The socket asks for a large
buffer (as root past `net.core.rmem_max`) and logs what the kernel granted, and it turns
on `SO_RXQ_OVFL`, so each datagram carries the socket's running count of drops, which
becomes the `input_datagrams_dropped` counter.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

import trio

from cyanite_py.inputs.counting import InputCounters

log = logging.getLogger(__name__)

MAX_DATAGRAM = 65535
DEFAULT_RECEIVE_BUFFER = 4 * 1024 * 1024

SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40)
"""Linux's numbers, for Python builds that do not name them."""
DROPS = struct.Struct("=I")
ANCILLARY_BYTES = socket.CMSG_SPACE(DROPS.size)


async def receive_datagrams(
    host: str,
    port: int,
    task_status: trio.TaskStatus[int],
    counters: InputCounters,
    receive_buffer: int = DEFAULT_RECEIVE_BUFFER,
) -> AsyncIterator[bytes]:
    """Bind `host:port` (0 picks a free port), report the bound port, yield each datagram,
    counting in `counters`' registry the datagrams the kernel dropped before them."""
    dropped = counters.registry.counter(
        "input_datagrams_dropped",
        "datagrams the kernel dropped because the socket's receive buffer was full",
        input=counters.name,
    )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with trio.socket.socket(family, socket.SOCK_DGRAM) as sock:
        granted = _ask_for_buffer(sock, receive_buffer)
        counting = _count_drops(sock)
        await sock.bind((host, port))
        bound = sock.getsockname()[1]
        counters.bound(bound)
        log.info(
            "%s receiving on %s:%d/udp; receive buffer %d bytes (asked %d)%s",
            counters.name,
            host,
            bound,
            granted,
            receive_buffer,
            "" if counting else "; kernel drops cannot be counted here",
        )
        task_status.started(bound)
        seen = 0
        while True:
            data, ancillary, _, _ = await sock.recvmsg(MAX_DATAGRAM, ANCILLARY_BYTES)
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_RXQ_OVFL:
                    (total,) = DROPS.unpack_from(payload)
                    dropped.inc((total - seen) % 2**32)
                    seen = total
            yield data


def _ask_for_buffer(sock: Any, size: int) -> int:
    """Ask for a receive buffer of `size` bytes; return what the kernel granted (Linux
    reports twice the usable size, which is what it counts against)."""
    for option in (SO_RCVBUFFORCE, socket.SO_RCVBUF):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, option, size)
            break
    granted: int = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    return granted


def _count_drops(sock: Any) -> bool:
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
    except OSError:
        return False
    return True
