"""Inputs hold their bounds on real sockets: connections per input, idle connections,
memory for unfinished pickle messages, and series from spoofed or flooding sFlow agents."""

from __future__ import annotations

import pickle
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio

from cyanite_py.counters import Registry
from cyanite_py.inputs.carbon import CarbonInput, CarbonInputConfig
from cyanite_py.inputs.pickle import PickleInput, PickleInputConfig
from cyanite_py.inputs.sflow import SflowInput, SflowInputConfig
from cyanite_py.model import EngineBatch
from tests.helpers import collect, wait_until
from tests.sflow_vectors import BINS

LOOPBACK = "127.0.0.1"
Started = tuple[int, trio.MemoryReceiveChannel[EngineBatch], Registry, str]


async def start_carbon(nursery: trio.Nursery, **config: Any) -> Started:
    send, receive = trio.open_memory_channel[EngineBatch](100)
    registry = Registry()
    settings = CarbonInputConfig(host=LOOPBACK, port=0, **config)
    port = await nursery.start(CarbonInput(settings, send, registry).run)
    return port, receive, registry, f"carbon_tcp_{port}"


async def start_pickle(nursery: trio.Nursery, **config: Any) -> Started:
    send, receive = trio.open_memory_channel[EngineBatch](100)
    registry = Registry()
    settings = PickleInputConfig(host=LOOPBACK, port=0, **config)
    component = PickleInput(settings, send, registry)
    port = await nursery.start(component.run)
    return port, receive, registry, f"pickle_{port}"


def carbon_message(path: str) -> bytes:
    return f"{path} 1 1700000000\n".encode()


def pickle_message(path: str) -> bytes:
    payload = pickle.dumps([(path, (1700000000, 1.0))], protocol=2)
    return struct.pack("!I", len(payload)) + payload


INPUTS = [(start_carbon, carbon_message), (start_pickle, pickle_message)]
Start = Callable[..., Awaitable[Started]]


async def closed_by_server(stream: trio.SocketStream) -> bool:
    """Whether the server closes `stream` (within a generous bound)."""
    with trio.fail_after(10):
        try:
            return await stream.receive_some(1) == b""
        except trio.BrokenResourceError:
            return True


@pytest.mark.parametrize(("start", "message"), INPUTS)
async def test_an_idle_connection_is_closed_and_counted(
    nursery: trio.Nursery, start: Start, message: Callable[[str], bytes]
) -> None:
    port, receive, registry, name = await start(nursery, idle_timeout=1)
    idle = await trio.open_tcp_stream(LOOPBACK, port)
    busy = await trio.open_tcp_stream(LOOPBACK, port)
    await busy.send_all(message("before"))
    assert (await collect(receive, 1)).paths == ["before"]
    assert await closed_by_server(idle)
    assert registry.value("input_rejected", input=name, reason="idle_timeout") >= 1
    await idle.aclose()
    await busy.aclose()


@pytest.mark.parametrize(("start", "message"), INPUTS)
async def test_connections_past_the_cap_are_closed_and_counted(
    nursery: trio.Nursery, start: Start, message: Callable[[str], bytes]
) -> None:
    port, receive, registry, name = await start(nursery, max_connections=2)
    first = await trio.open_tcp_stream(LOOPBACK, port)
    second = await trio.open_tcp_stream(LOOPBACK, port)
    await first.send_all(message("first"))
    await second.send_all(message("second"))
    assert sorted((await collect(receive, 2)).paths) == ["first", "second"]
    third = await trio.open_tcp_stream(LOOPBACK, port)
    assert await closed_by_server(third)
    assert registry.value("input_rejected", input=name, reason="too_many_connections") == 1
    await first.aclose()
    open_connections = registry.gauges[("input_connections_open", (("input", name),))]
    with trio.fail_after(10):
        await wait_until(lambda: open_connections.read() <= 1)
    fourth = await trio.open_tcp_stream(LOOPBACK, port)
    await fourth.send_all(message("fourth"))
    assert (await collect(receive, 1)).paths == ["fourth"]
    for stream in (second, third, fourth):
        await stream.aclose()


async def test_unfinished_pickle_messages_are_held_only_up_to_the_cap(
    nursery: trio.Nursery,
) -> None:
    send, receive = trio.open_memory_channel[EngineBatch](100)
    registry = Registry()
    config = PickleInputConfig(host=LOOPBACK, port=0, max_buffered=100_000)
    component = PickleInput(config, send, registry)
    port = await nursery.start(component.run)
    name = f"pickle_{port}"
    announced = struct.pack("!I", 1_000_000)
    streams = []
    for _ in range(3):  # each announces 1 MB and sends 40 kB of it
        stream = await trio.open_tcp_stream(LOOPBACK, port)
        await stream.send_all(announced + b"x" * 40_000)
        streams.append(stream)
    assert await closed_by_server(streams[2])
    assert registry.value("input_rejected", input=name, reason="buffered_over_limit") == 1
    with trio.fail_after(10):  # the closed connection lets go of its buffer as it ends
        await wait_until(lambda: component.buffered() <= 100_000)
    assert 0 < component.buffered() <= 100_000
    whole = await trio.open_tcp_stream(LOOPBACK, port)
    await whole.send_all(pickle_message("still.served"))
    assert (await collect(receive, 1)).paths == ["still.served"]
    for stream in (*streams, whole):
        await stream.aclose()
    with trio.fail_after(10):
        await wait_until(lambda: not component.buffered())


def spoofed(agent: int) -> bytes:
    """The first captured datagram, claiming to come from IPv4 agent 10.0.x.y."""
    data = BINS[0].read_bytes()
    return data[:8] + socket.inet_aton(f"10.0.{agent >> 8}.{agent & 255}") + data[12:]


async def start_sflow(nursery: trio.Nursery, **config: Any) -> tuple[int, Registry]:
    send, receive = trio.open_memory_channel[EngineBatch](10_000)
    registry = Registry()
    settings = SflowInputConfig(host=LOOPBACK, port=0, **config)
    port = await nursery.start(SflowInput(settings, send, registry).run)
    nursery.start_soon(drain, receive)
    return port, registry


async def drain(receive: trio.MemoryReceiveChannel[EngineBatch]) -> None:
    async for _ in receive:
        pass


async def send_datagrams(port: int, datagrams: list[bytes], registry: Registry) -> None:
    with trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for datagram in datagrams:
            await sock.sendto(datagram, (LOOPBACK, port))
            await trio.lowlevel.checkpoint()
    with trio.fail_after(10):
        await wait_until(
            lambda: registry.value("input_connections", input=f"sflow_{port}") >= len(datagrams)
        )


async def test_spoofed_sflow_agents_make_series_only_up_to_the_bounds(
    nursery: trio.Nursery,
) -> None:
    port, registry = await start_sflow(nursery, max_agents=10)
    await send_datagrams(port, [spoofed(agent) for agent in range(50)], registry)
    assert registry.value("input_rejected", input=f"sflow_{port}", reason="too_many_agents") == 40
    assert registry.gauges[("input_sflow_agents", (("input", f"sflow_{port}"),))].read() == 10

    port, registry = await start_sflow(nursery, max_sources=5)
    await send_datagrams(port, [spoofed(agent) for agent in range(50)], registry)
    assert registry.value("input_rejected", input=f"sflow_{port}", reason="too_many_sources") == 45


async def test_decoding_past_its_share_of_a_core_drops_datagrams(nursery: trio.Nursery) -> None:
    port, registry = await start_sflow(nursery, max_decode_share=1e-9)
    await send_datagrams(port, [spoofed(agent) for agent in range(5)], registry)
    assert registry.value("input_samples_decoded", input=f"sflow_{port}") == 1
    assert registry.value("input_rejected", input=f"sflow_{port}", reason="busy") == 4
