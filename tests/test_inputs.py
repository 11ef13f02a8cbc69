"""Carbon plaintext (TCP, UDP) and pickle inputs on real sockets."""

from __future__ import annotations

import os
import pickle
import struct

import trio

from cyanite_py.counters import Registry
from cyanite_py.inputs.carbon import CarbonInput, CarbonInputConfig
from cyanite_py.inputs.pickle import PickleInput, PickleInputConfig, points_from_items
from cyanite_py.model import EngineBatch
from tests.helpers import collect, wait_until


async def test_lines_split_across_reads_are_joined(nursery: trio.Nursery) -> None:
    send, receive = trio.open_memory_channel[EngineBatch](10)
    config = CarbonInputConfig(host="127.0.0.1", port=0)
    port = await nursery.start(CarbonInput(config, send, Registry()).run)
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(b"a.b 1 1")
        await trio.sleep(0.05)
        await stream.send_all(b"00\nc.d 2 200\r\nlast 3 300")
    batch = await collect(receive, 3)
    assert list(zip(batch.paths, batch.values, batch.times, strict=True)) == [
        ("a.b", 1.0, 100),
        ("c.d", 2.0, 200),
        ("last", 3.0, 300),
    ]


async def test_an_over_long_line_is_skipped_to_its_end(nursery: trio.Nursery) -> None:
    send, receive = trio.open_memory_channel[EngineBatch](10)
    registry = Registry()
    config = CarbonInputConfig(host="127.0.0.1", port=0, max_line_length=100, read_size=64)
    port = await nursery.start(CarbonInput(config, send, registry).run)
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(b"before 1 1\n" + b"x" * 1000 + b" 1 1\nafter 2 2\n")
    batch = await collect(receive, 2)
    assert batch.paths == ["before", "after"]
    assert registry.total("input_rejected") == 1


async def test_a_full_engine_queue_stops_tcp_reading_instead_of_growing(
    nursery: trio.Nursery,
) -> None:
    send, receive = trio.open_memory_channel[EngineBatch](1)
    registry = Registry()
    config = CarbonInputConfig(host="127.0.0.1", port=0, read_size=4096)
    port = await nursery.start(CarbonInput(config, send, registry).run)
    lines = b"".join(b"path.%d 1 100\n" % i for i in range(200_000))
    stream = await trio.open_tcp_stream("127.0.0.1", port)

    async def write_all() -> None:
        async with stream:
            await stream.send_all(lines)

    nursery.start_soon(write_all)
    with trio.fail_after(30):
        await wait_until(lambda: receive.statistics().current_buffer_used >= 1, 0.05)
    await trio.sleep(0.5)  # what a reader that had not stopped would take in meanwhile
    assert registry.total("input_points_received") < 200_000
    assert receive.statistics().current_buffer_used == 1
    total = 0
    with trio.fail_after(30):
        while total < 200_000:
            total += len(await receive.receive())
    assert registry.total("input_points_received") == 200_000


async def test_udp_drops_and_counts_when_the_engine_is_behind(nursery: trio.Nursery) -> None:
    send, receive = trio.open_memory_channel[EngineBatch](1)
    registry = Registry()
    config = CarbonInputConfig(host="127.0.0.1", port=0, udp=True)
    port = await nursery.start(CarbonInput(config, send, registry).run)
    with trio.socket.socket(type=trio.socket.SOCK_DGRAM) as sock:
        for i in range(3):
            await sock.sendto(b"u.%d 1 100\nv.%d 2 100\n" % (i, i), ("127.0.0.1", port))
    with trio.fail_after(5):
        await wait_until(lambda: registry.total("input_points_dropped") >= 4)
    assert len(await receive.receive()) == 2
    assert registry.total("input_points_received") == 2


def frame(payload: bytes) -> bytes:
    return struct.pack("!I", len(payload)) + payload


async def test_pickle_messages_and_hostile_pickles(nursery: trio.Nursery) -> None:
    send, receive = trio.open_memory_channel[EngineBatch](10)
    registry = Registry()
    config = PickleInputConfig(host="127.0.0.1", port=0)
    port = await nursery.start(PickleInput(config, send, registry).run)
    good = pickle.dumps([("p.a", (100, 1.5)), ("p.b", (200, "2")), ("bad", ("x", 1))])
    hostile = pickle.dumps(os.system)
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(frame(good)[:10])
        await trio.sleep(0.05)
        await stream.send_all(frame(good)[10:] + frame(hostile) + frame(b"garbage") + frame(good))
    batch = await collect(receive, 4)
    assert batch.paths == ["p.a", "p.b", "p.a", "p.b"]
    assert batch.values == [1.5, 2.0, 1.5, 2.0]
    assert registry.value("input_rejected", input=f"pickle_{port}", reason="bad_pickle") == 2
    assert registry.value("input_rejected", input=f"pickle_{port}", reason="item") == 2


async def test_an_oversized_pickle_closes_only_its_connection(nursery: trio.Nursery) -> None:
    send, receive = trio.open_memory_channel[EngineBatch](10)
    registry = Registry()
    config = PickleInputConfig(host="127.0.0.1", port=0, max_message_size=1000)
    port = await nursery.start(PickleInput(config, send, registry).run)
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(struct.pack("!I", 10_000_000) + b"x" * 100)
        with trio.fail_after(5):
            assert await stream.receive_some(10) == b""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(frame(pickle.dumps([("ok", (1, 1))])))
    assert (await collect(receive, 1)).paths == ["ok"]
    assert registry.value("input_rejected", input=f"pickle_{port}", reason="too_large") == 1


def test_pickled_paths_with_whitespace_or_empty_are_rejected_even_in_bulk() -> None:
    reasons: list[str] = []
    items = [("ok.a", (1, 1.0)), ("has space", (1, 2.0)), ("", (1, 3.0)), ("ok.b", (-1, 4.0))]
    batch = points_from_items(items, 99, lambda reason, count: reasons.append(reason))
    assert list(zip(batch.paths, batch.times, strict=True)) == [("ok.a", 1), ("ok.b", 99)]
    assert reasons == ["path", "path"]


async def test_udp_counters_exist_only_when_udp_is_on_and_name_the_bound_port(
    nursery: trio.Nursery,
) -> None:
    registry = Registry()
    for udp in (False, True):
        send, _ = trio.open_memory_channel[EngineBatch](1)
        config = CarbonInputConfig(host="127.0.0.1", port=0, udp=udp)
        await nursery.start(CarbonInput(config, send, registry).run)
    inputs = {dict(labels).get("input") for _, _, labels, _, _ in registry.samples()}
    udp_inputs = {name for name in inputs if name and name.startswith("carbon_udp_")}
    assert len(udp_inputs) == 1
    assert udp_inputs != {"carbon_udp_0"}
    # TCP counters are labelled with the bound port too, not the 0 that asked for any.
    tcp_inputs = {name for name in inputs if name and name.startswith("carbon_tcp_")}
    assert len(tcp_inputs) == 2
    assert "carbon_tcp_0" not in tcp_inputs
