"""Receiving datagrams: what the kernel drops when the server falls behind is counted."""

from __future__ import annotations

import socket

import trio
import trio.testing

from cyanite_py.counters import Registry
from cyanite_py.inputs.counting import InputCounters
from cyanite_py.inputs.udp import receive_datagrams


async def test_datagrams_the_kernel_drops_are_counted(nursery: trio.Nursery) -> None:
    registry = Registry()
    received: list[bytes] = []
    last_arrived = trio.Event()

    async def receive(*, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        counters = InputCounters(registry, "udp_test", 0)
        async for datagram in receive_datagrams("127.0.0.1", 0, task_status, counters, 4096):
            received.append(datagram)
            if datagram == b"last":
                last_arrived.set()

    port = await nursery.start(receive)
    sent = 500
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        # The receiving task cannot run until this loop ends, so its small buffer fills.
        for i in range(sent):
            sender.sendto(b"x.%d 1 1700000000\n" % i, ("127.0.0.1", port))
        await trio.testing.wait_all_tasks_blocked()
        sender.sendto(b"last", ("127.0.0.1", port))
        with trio.fail_after(10):
            await last_arrived.wait()
    # Counted under the port the socket bound, not the 0 that asked for any.
    dropped = registry.value("input_datagrams_dropped", input=f"udp_test_{port}")
    assert dropped > 0
    assert len(received) + dropped == sent + 1
