"""Carbon's pickle protocol: a 4-byte big-endian length, then a pickled list of
`(path, (timestamp, value))`.

Unpickling is restricted to lists, tuples, strings and numbers: any pickle that names a
class or function is rejected, so a client cannot run code here. A message over the size
limit closes its connection (the stream cannot be trusted past it); a bad item is counted
and skipped, and the rest of the message carries on.
"""

from __future__ import annotations

import io
import logging
import math
import pickle
import struct
import time
from functools import partial
from typing import Any, Literal

import trio
from pydantic import PositiveInt

from cyanite_py.carbon.lines import Reject, clean, plain_paths
from cyanite_py.counters import Registry
from cyanite_py.inputs.counting import InputCounters
from cyanite_py.inputs.tcp_limits import ConnectionGate, raise_open_files_limit
from cyanite_py.model import EngineBatch, PointBatch
from cyanite_py.ratelog import RateLimitedLog
from cyanite_py.settings import Duration, settings

log = logging.getLogger(__name__)
HEADER = struct.Struct("!I")


@settings
class PickleInputConfig:
    type: Literal["pickle"] = "pickle"
    host: str = "0.0.0.0"
    port: int = 2004
    max_message_size: int = 1024 * 1024
    max_connections: PositiveInt = 512
    """Connections open at once; more are closed as they arrive."""
    idle_timeout: Duration = 300
    """Seconds a connection may send nothing before it is closed."""
    max_buffered: PositiveInt = 64 * 1024 * 1024
    """Bytes of unfinished messages held over all connections; the one that passes it closes."""


class _PlainUnpickler(pickle.Unpickler):
    """Builds only the types the protocol carries; refuses every global lookup."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")


def loads_plain(payload: bytes) -> Any:
    """Unpickle `payload` if it holds only built-in containers, strings and numbers."""
    return _PlainUnpickler(io.BytesIO(payload), encoding="utf-8").load()


def points_from_items(items: Any, now: int, reject: Reject) -> PointBatch:
    """Points from a list of `(path, (timestamp, value))`; bad items go to `reject`."""
    if not isinstance(items, list | tuple):
        reject("not_a_list", 1)
        return PointBatch()
    try:
        paths, pairs = zip(*items, strict=True)
        raw_times, raw_values = zip(*pairs, strict=True)
        values = list(map(float, raw_values))
        times = list(map(int, map(float, raw_times)))
        if _plain_paths(paths) and min(times) >= 0 and not any(map(math.isnan, values)):
            return PointBatch(list(paths), values, times)
    except (TypeError, ValueError, OverflowError):
        pass
    return _points_one_by_one(items, now, reject)


def _plain_paths(paths: tuple[Any, ...]) -> bool:
    """Whether every path is a string, non-empty, free of whitespace and valid UTF-8
    (a pickle can carry lone surrogates, which no answer could encode)."""
    if not all(type(path) is str for path in paths):
        return False
    joined = " ".join(paths)
    if not joined.isascii():
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return plain_paths(paths)


def _points_one_by_one(items: list[Any] | tuple[Any, ...], now: int, reject: Reject) -> PointBatch:
    batch = PointBatch()
    for item in items:
        try:
            path, (raw_time, raw_value) = item
            value = float(raw_value)
            timestamp = int(float(raw_time))
        except (TypeError, ValueError, OverflowError):
            reject("item", 1)
            continue
        if isinstance(path, bytes):
            try:
                path = path.decode("utf-8")
            except UnicodeDecodeError:
                reject("encoding", 1)
                continue
        if not _plain_paths((path,)):
            reject("path", 1)
            continue
        batch.paths.append(path)
        batch.values.append(value)
        batch.times.append(timestamp)
    return clean(batch, now, reject)


class PickleInput:
    """Serves carbon's pickle protocol over TCP; `run` reports the port it bound."""

    def __init__(
        self,
        config: PickleInputConfig,
        send: trio.MemorySendChannel[EngineBatch],
        registry: Registry,
    ) -> None:
        self.config = config
        self._send = send
        self._counters = InputCounters(registry, "pickle", config.port)
        self._gate = ConnectionGate(config.max_connections, config.idle_timeout, self._counters)
        self._log = RateLimitedLog(log)
        self._buffers: dict[int, bytearray] = {}
        registry.gauge(
            "input_bytes_buffered",
            "bytes of unfinished messages held",
            lambda: float(self.buffered()),
            input=self._counters.name,
        )

    def buffered(self) -> int:
        """Bytes of unfinished messages held over all connections."""
        return sum(map(len, self._buffers.values()))

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        raise_open_files_limit()
        async with self._send, trio.open_nursery() as nursery:
            serve = partial(trio.serve_tcp, host=self.config.host)
            listeners = await nursery.start(serve, self._serve_connection, self.config.port)
            port = listeners[0].socket.getsockname()[1]
            self._counters.bound(port)
            log.info("carbon pickle listening on %s:%d/tcp", self.config.host, port)
            task_status.started(port)

    async def _serve_connection(self, stream: trio.SocketStream) -> None:
        with self._gate.place(stream) as admitted:
            if not admitted:
                await stream.aclose()
                return
            buffer = self._buffers[id(stream)] = bytearray()
            try:
                async with stream:
                    await self._read_messages(stream, buffer)
            finally:
                del self._buffers[id(stream)]

    async def _read_messages(self, stream: trio.SocketStream, buffer: bytearray) -> None:
        """Read and hand on whole messages until the stream ends or must be closed."""
        counters = self._counters
        while True:
            data = await self._gate.receive(stream, 256 * 1024)
            if not data:
                if buffer:
                    counters.reject("truncated")
                return
            counters.bytes.inc(len(data))
            buffer += data
            if not await self._consume(buffer):
                return
            held = self.buffered() if buffer else 0
            if held > self.config.max_buffered:
                counters.reject("buffered_over_limit")
                self._log.warning(
                    "buffered",
                    "closing a pickle connection: %d bytes of unfinished messages held",
                    held,
                )
                return

    async def _consume(self, buffer: bytearray) -> bool:
        """Handle every whole message in `buffer`; False when the connection must close."""
        while len(buffer) >= HEADER.size:
            (size,) = HEADER.unpack_from(buffer)
            if size > self.config.max_message_size:
                self._counters.reject("too_large")
                self._log.warning(
                    "too_large", "closing a pickle connection: message of %d bytes", size
                )
                return False
            end = HEADER.size + size
            if len(buffer) < end:
                return True
            payload = bytes(buffer[HEADER.size : end])
            del buffer[:end]
            await self._forward(payload)
        return True

    async def _forward(self, payload: bytes) -> None:
        try:
            items = loads_plain(payload)
        except Exception as error:  # a hostile pickle can raise almost anything
            self._counters.reject("bad_pickle")
            self._log.warning("bad_pickle", "rejected a pickle message: %s", error)
            return
        batch = points_from_items(items, int(time.time()), self._counters.reject)
        if len(batch):
            self._counters.points.inc(len(batch))
            await self._send.send(batch)
