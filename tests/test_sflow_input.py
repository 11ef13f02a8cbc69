"""The sFlow input on a real UDP socket: real datagrams in, batches of points out."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pydantic
import pytest
import trio

from cyanite_py.counters import Registry
from cyanite_py.inputs.sflow import SflowInput, SflowInputConfig
from cyanite_py.model import EngineBatch, PointBatch
from tests.helpers import wait_until
from tests.sflow_vectors import BINS, interface_datagram, pcap_udp_payloads

NOW = 1_700_000_000
LOOPBACK = "127.0.0.1"


class Running:
    """A started input on a free port, with the channel it feeds and its counters."""

    def __init__(
        self, port: int, batches: trio.MemoryReceiveChannel[EngineBatch], registry: Registry
    ):
        self.port = port
        self.batches = batches
        self.registry = registry
        self.points = 0

    async def send(self, *datagrams: bytes) -> None:
        with trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for datagram in datagrams:
                await sock.sendto(datagram, (LOOPBACK, self.port))

    async def receive(self) -> dict[str, float]:
        with trio.fail_after(5):
            batch = await self.batches.receive()
        assert isinstance(batch, PointBatch)
        assert batch.times == [NOW] * len(batch)
        self.points += len(batch)
        return dict(zip(batch.paths, batch.values, strict=True))

    def counted(self, name: str, **labels: str) -> int:
        return self.registry.value(name, input=f"sflow_{self.port}", **labels)

    async def until(self, ready: Callable[[], bool]) -> None:
        with trio.fail_after(5):
            await wait_until(ready)


Start = Callable[..., Awaitable[Running]]


@pytest.fixture
def start(nursery: trio.Nursery) -> Start:
    async def start(capacity: int = 100, **config: Any) -> Running:
        send, receive = trio.open_memory_channel[EngineBatch](capacity)
        registry = Registry()
        component = SflowInput(
            SflowInputConfig(**{"host": LOOPBACK, "port": 0, **config}),
            send,
            registry,
            clock=lambda: NOW + 0.9,
        )
        port = await nursery.start(component.run)
        assert isinstance(port, int)
        assert port > 0
        return Running(port, receive, registry)

    return start


async def test_real_datagrams_become_points(start: Start) -> None:
    running = await start()
    bins = [path.read_bytes() for path in BINS]
    captured = pcap_udp_payloads()
    await running.send(*bins, *captured)
    found: dict[str, float] = {}
    for _ in range(len(bins) + 25):  # five captured packets are not version 5
        found |= await running.receive()
    assert found["sflow.208_85_240_52.9.if_in_octets"] == 79282473
    assert found["sflow.fractal.host.cpu_num"] == 4
    assert found["sflow.10_20_4_0.host.cpu_5s"] == 14.5
    assert found["sflow.192_168_119_184.eno1.if_out_octets"] == 3946
    assert "sflow.192_168_119_184.eno1.if_in_broadcast_pkts" not in found
    assert found["sflow.15_184_8_4.55.if_in_octets"] == 820721  # tcpdump's first sample
    assert found["sflow.proxy-use03147k2.host.cpu_num"] == 0x18  # the capture's host sample
    assert found["sflow.use03710ff.host.mem_total"] == 0x3CAA65000
    await running.until(lambda: running.counted("input_connections") == len(bins) + 30)
    assert running.counted("input_rejected", reason="bad_version") == 5
    assert running.counted("input_samples_decoded") == 4 + 144
    assert running.counted("input_points_received") == running.points
    assert running.counted("input_points_dropped") == 0
    assert running.counted("input_bytes_received") == sum(map(len, bins + captured))


async def test_damaged_datagrams_are_counted_and_the_input_goes_on(start: Start) -> None:
    running = await start()
    good = BINS[0].read_bytes()
    await running.send(b"", good[:40], b"\x00\x00\x00\x05\x00\x00\x00\x09" + good[8:], good)
    assert (await running.receive())["sflow.208_85_240_52.9.if_speed"] == 1e8
    assert running.counted("input_rejected", reason="truncated") == 2
    assert running.counted("input_rejected", reason="bad_address") == 1


async def test_a_full_queue_drops_and_counts(start: Start) -> None:
    running = await start(capacity=0)
    await running.send(*(path.read_bytes() for path in BINS))
    await running.until(lambda: running.counted("input_connections") == len(BINS))
    assert running.counted("input_points_dropped") == 28 + 46 + 5 + 10
    assert running.counted("input_points_received") == 0


async def test_rates_over_udp_across_a_wrap_and_a_restart(start: Start) -> None:
    running = await start(rates=True, prefix="net.sflow")
    eth = "net.sflow.192_168_119_184.eno1."
    await running.send(interface_datagram(1, 10_000, 1, 2**64 - 1_000, 2**32 - 100))
    assert set(await running.receive()) == {eth + "if_speed", eth + "if_status"}
    await running.send(interface_datagram(2, 20_000, 2, 9_000, 900))
    found = await running.receive()
    assert (found[eth + "if_in_octets"], found[eth + "if_in_ucast_pkts"]) == (1_000.0, 100.0)
    await running.send(interface_datagram(1, 2_000, 1, 50, 5))  # the agent restarted
    assert eth + "if_in_octets" not in await running.receive()
    await running.send(interface_datagram(2, 4_000, 2, 250, 25))
    found = await running.receive()
    assert (found[eth + "if_in_octets"], found[eth + "if_in_ucast_pkts"]) == (100.0, 10.0)


def test_config_defaults_and_validation() -> None:
    config = SflowInputConfig()
    assert (config.type, config.host, config.port, config.prefix, config.rates) == (
        "sflow",
        "0.0.0.0",
        6343,
        "sflow",
        False,
    )
    for bad in ({"prefix": "a..b"}, {"prefix": "a b"}, {"port": 70000}, {"bogus": 1}):
        with pytest.raises(pydantic.ValidationError):
            SflowInputConfig(**bad)
