"""Carbon plaintext parsed in worker processes (`cyanite_py.carbon.worker`).

Each connection is given one worker's lane for its life, so its chunks are parsed, and
their points reach the engine, in the order they arrived. Lanes and pipes are bounded, so
a slow engine still slows the senders: delivery waits, the worker's output pipe fills, it
stops reading, its lane fills, and the connection stops reading its socket.

A worker that exits unexpectedly is started again with a fresh numbering of paths; the
chunks it held are lost, logged and counted. `close` ends the lanes; each worker then
finishes what it was sent and exits, within `drain_seconds`, whatever cancels the input.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import logging
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import trio

import cyanite_py
from cyanite_py.carbon.frames import RESULT_HEADER, ResultHeader, chunk_frame
from cyanite_py.inputs.counting import InputCounters
from cyanite_py.model import KeyedPoints, PathTable

log = logging.getLogger(__name__)

LANE_CHUNKS = 4
"""Chunks a lane holds before its connections wait."""

PIPE_BYTES = 1 << 20
"""Requested size of each pipe to and from a worker, so a chunk is written in one go."""

DRAIN_SECONDS = 30.0
"""How long a closed input waits for its workers to deliver what they hold, unless told."""

EXIT_SECONDS = 5.0
"""How long a worker whose output ended may take to exit before it is killed."""

RESTART_DELAY = 1.0

Deliver = Callable[[KeyedPoints], Awaitable[None]]


@dataclass(slots=True)
class _Tally:
    """Chunks one worker run was sent and answered, and whether its lane ended."""

    sent: int = 0
    answered: int = 0
    lane_ended: bool = False


class _Frames:
    """Exact-size reads from a byte stream."""

    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self._stream = stream
        self._buffer = bytearray()

    async def read(self, size: int) -> bytes | None:
        """The next `size` bytes, or None if the stream ends first."""
        while len(self._buffer) < size:
            data = await self._stream.receive_some(max(size - len(self._buffer), PIPE_BYTES))
            if not data:
                return None
            self._buffer += data
        with memoryview(self._buffer) as view:
            frame = bytes(view[:size])
        del self._buffer[:size]
        return frame


class ParseWorkers:
    """`count` worker processes fed through one lane each; `run` supervises them."""

    def __init__(
        self,
        count: int,
        max_line_length: int,
        deliver: Deliver,
        counters: InputCounters,
        drain_seconds: float = DRAIN_SECONDS,
    ) -> None:
        self._max_line_length = max_line_length
        self._drain_seconds = drain_seconds
        self._deliver = deliver
        self._counters = counters
        self._lanes = [trio.open_memory_channel[bytes](LANE_CHUNKS) for _ in range(count)]
        self._turns = itertools.cycle([send for send, _ in self._lanes])
        self._scope = trio.CancelScope(shield=True)
        self._lost = counters.registry.counter(
            "parse_worker_chunks_lost",
            "chunks held by a parse worker that exited unexpectedly",
            input=counters.name,
        )

    def lane(self) -> trio.MemorySendChannel[bytes]:
        """Where a new connection sends its chunks, taking the workers in turn."""
        return next(self._turns)

    def close(self) -> None:
        """No more chunks: workers finish what they hold, then `run` returns."""
        for send, _ in self._lanes:
            send.close()
        self._scope.deadline = trio.current_time() + self._drain_seconds

    async def run(self) -> None:
        """Keep every worker running until `close`; shielded so a cancelled input still
        delivers the points its workers hold."""
        with self._scope:
            async with trio.open_nursery() as nursery:
                for _, chunks in self._lanes:
                    nursery.start_soon(self._keep_running, chunks)

    async def _keep_running(self, chunks: trio.MemoryReceiveChannel[bytes]) -> None:
        while True:
            tally = _Tally()
            code = await self._run_worker(chunks, tally)
            if tally.lane_ended and code == 0:
                return
            lost = tally.sent - tally.answered
            self._lost.inc(lost)
            log.error("parse worker exited with %s holding %d chunks; restarting", code, lost)
            await trio.sleep(RESTART_DELAY)

    async def _run_worker(self, chunks: trio.MemoryReceiveChannel[bytes], tally: _Tally) -> int:
        """One worker process, until its output ends; returns its exit code."""
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "cyanite_py.carbon.worker", str(self._max_line_length)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_worker_environment(),
        )
        assert process.stdin is not None and process.stdout is not None
        output_ended = False
        try:
            _widen(process.stdin)
            _widen(process.stdout)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._feed, chunks, process.stdin, tally)
                await self._read_back(process.stdout, PathTable(), tally)
                output_ended = True
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                with trio.move_on_after(EXIT_SECONDS if output_ended else 0):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
                code = await process.wait()
                await process.stdin.aclose()
                await process.stdout.aclose()
        return code

    async def _feed(
        self,
        chunks: trio.MemoryReceiveChannel[bytes],
        stdin: trio.abc.SendStream,
        tally: _Tally,
    ) -> None:
        """Frame each chunk of the lane to the worker; close its input when the lane ends."""
        try:
            async for chunk in chunks:
                tally.sent += 1
                await stdin.send_all(chunk_frame(chunk))
            tally.lane_ended = True
            await stdin.aclose()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return  # the worker died; `_keep_running` restarts it

    async def _read_back(
        self, stdout: trio.abc.ReceiveStream, table: PathTable, tally: _Tally
    ) -> None:
        """Deliver each result frame's points, in order, until the worker's output ends."""
        frames = _Frames(stdout)
        while (header := await frames.read(RESULT_HEADER.size)) is not None:
            result = ResultHeader.decode(header)
            body = await frames.read(result.body_size)
            if body is None:
                return
            tally.answered += 1
            for reason, count in result.rejected.items():
                if count:
                    self._counters.reject(reason, count)
            table.names.extend(result.new_paths(body))
            if result.points:
                keys, values, times = result.columns(body)
                await self._deliver(KeyedPoints(table, keys, values, times))


def _worker_environment() -> dict[str, str]:
    """This environment, with the directory holding this package first on the import path,
    so a worker imports the same code wherever the server was started."""
    root = str(Path(cyanite_py.__file__).resolve().parent.parent)
    inherited = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (root, inherited)))}


def _widen(pipe: object) -> None:
    """Ask for `PIPE_BYTES` of pipe buffer; the default 64 KiB splits every chunk."""
    fileno = getattr(pipe, "fileno", None)
    if fileno is None:
        return
    with contextlib.suppress(OSError):  # above the system's limit the default still works
        fcntl.fcntl(fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
