"""Carbon plaintext parsed in worker processes: order, rejects, restarts and shutdown."""

from __future__ import annotations

import io
import os
import signal
from collections import defaultdict
from pathlib import Path

import trio

from cyanite_py.carbon.frames import RESULT_HEADER, ResultHeader, chunk_frame
from cyanite_py.carbon.worker import serve
from cyanite_py.counters import Registry
from cyanite_py.inputs.carbon import CarbonInput, CarbonInputConfig
from cyanite_py.model import EngineBatch, KeyedPoints, PointBatch
from tests.helpers import collect as collect_points
from tests.helpers import wait_until

LINES_PER_CONNECTION = 20_000


def test_a_worker_answers_each_chunk_and_sends_each_path_once() -> None:
    source = io.BytesIO(
        chunk_frame(b"a.b 1 100\nc 2.5 -1\nbad line\n")
        + chunk_frame(b"c 3 200\na.b nan 200\nnew 4 300\n")
    )
    sink = io.BytesIO()
    serve(source, sink, max_line_length=100)
    out = sink.getvalue()
    frames = []
    while out:
        result = ResultHeader.decode(out[: RESULT_HEADER.size])
        body = out[RESULT_HEADER.size : RESULT_HEADER.size + result.body_size]
        out = out[RESULT_HEADER.size + len(body) :]
        keys, values, times = result.columns(body)
        frames.append(
            (
                times.tolist(),
                values.tolist(),
                keys.tolist(),
                result.new_paths(body),
                sum(result.rejected.values()),
            )
        )
    first_times, first_values, first_keys, first_names, first_rejected = frames[0]
    assert (first_times[0], first_values, first_keys) == (100, [1.0, 2.5], [0, 1])
    assert first_times[1] > 1_700_000_000  # -1 means now
    assert (first_names, first_rejected) == (["a.b", "c"], 1)
    assert frames[1] == ([200, 300], [3.0, 4.0], [1, 2], ["new"], 1)


async def collect(receive: trio.MemoryReceiveChannel[EngineBatch], points: int) -> PointBatch:
    return await collect_points(receive, points, kinds=(KeyedPoints,))


async def send_lines(port: int, payload: bytes) -> None:
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        await stream.send_all(payload)


async def test_connections_keep_their_order_across_two_workers(nursery: trio.Nursery) -> None:
    send, receive = trio.open_memory_channel[EngineBatch](64)
    registry = Registry()
    config = CarbonInputConfig(host="127.0.0.1", port=0, parse_workers=2, read_size=8192)
    port = await nursery.start(CarbonInput(config, send, registry).run)
    connections = 6
    async with trio.open_nursery() as senders:
        for c in range(connections):
            payload = b"".join(
                b"conn%d.m%d %d %d\n" % (c, i % 7, i, 1000 + i) for i in range(LINES_PER_CONNECTION)
            )
            senders.start_soon(send_lines, port, payload)
    batch = await collect(receive, connections * LINES_PER_CONNECTION)
    values: dict[str, list[float]] = defaultdict(list)
    for path, value, timestamp in zip(batch.paths, batch.values, batch.times, strict=True):
        assert timestamp == 1000 + value
        values[path].append(value)
    assert len(values) == connections * 7
    for path, seen in values.items():
        assert seen == sorted(seen), path
        assert len(seen) == len(set(seen))
    assert registry.total("input_points_received") == connections * LINES_PER_CONNECTION


async def test_bad_lines_are_counted_by_reason_in_the_worker(nursery: trio.Nursery) -> None:
    send, receive = trio.open_memory_channel[EngineBatch](16)
    registry = Registry()
    config = CarbonInputConfig(host="127.0.0.1", port=0, max_line_length=64)
    port = await nursery.start(CarbonInput(config, send, registry).run)
    await send_lines(
        port,
        b"good 1 100\nno_value\nbad x 100\nbad 1 when\n"
        + b"p" * 100
        + b" 1 1\nnan.v nan 100\n\xff\xfe 1 1\nalso.good 2 200\n",
    )
    batch = await collect(receive, 2)
    assert batch.paths == ["good", "also.good"]
    rejected = {
        reason: registry.value("input_rejected", input=f"carbon_tcp_{port}", reason=reason)
        for reason in ("fields", "value", "timestamp", "too_long", "nan", "encoding")
    }
    assert rejected == dict.fromkeys(rejected, 1)


def worker_pids() -> list[int]:
    """This process's children running a parse worker."""
    children: list[int] = []
    for task in Path("/proc/self/task").iterdir():
        children.extend(int(pid) for pid in (task / "children").read_text().split())
    return [
        pid
        for pid in children
        if b"cyanite_py.carbon.worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


async def test_a_killed_worker_is_replaced_and_the_input_goes_on(nursery: trio.Nursery) -> None:
    send, receive = trio.open_memory_channel[EngineBatch](16)
    registry = Registry()
    config = CarbonInputConfig(host="127.0.0.1", port=0)
    port = await nursery.start(CarbonInput(config, send, registry).run)
    await send_lines(port, b"before 1 100\n")
    assert (await collect(receive, 1)).paths == ["before"]
    (pid,) = worker_pids()
    os.kill(pid, signal.SIGKILL)
    with trio.fail_after(10):
        await wait_until(lambda: worker_pids() not in ([], [pid]), 0.05)
    await send_lines(port, b"after 2 200\nbefore 3 300\n")
    batch = await collect(receive, 2)
    assert list(zip(batch.paths, batch.values, strict=True)) == [("after", 2.0), ("before", 3.0)]


async def test_stopping_the_input_delivers_what_its_workers_hold() -> None:
    send, receive = trio.open_memory_channel[EngineBatch](1)
    registry = Registry()
    config = CarbonInputConfig(host="127.0.0.1", port=0, read_size=4096)
    lines = 30_000
    payload = b"".join(b"held.%d %d 100\n" % (i % 50, i) for i in range(lines))
    received = 0
    async with trio.open_nursery() as nursery:
        scope = trio.CancelScope()

        async def run_input(task_status: trio.TaskStatus[int]) -> None:
            with scope:
                await CarbonInput(config, send, registry).run(task_status=task_status)

        port = await nursery.start(run_input)
        await send_lines(port, payload)
        with trio.fail_after(10):
            await wait_until(lambda: registry.total("input_bytes_received") >= len(payload))
        await trio.sleep(0.2)
        scope.cancel()
        with trio.fail_after(30):
            async for batch in receive:
                received += len(batch)
    assert received == lines
    assert registry.total("input_points_received") == lines
