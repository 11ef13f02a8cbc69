"""sFlow v5 over UDP: every counter sample becomes points for the engine.

Each datagram is decoded into one batch (see `cyanite_py.sflow` for the naming scheme
and rates). UDP cannot push back, so a batch that finds the engine's queue full is
dropped and counted rather than waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

import trio

from cyanite_py.counters import Registry
from cyanite_py.inputs.counting import InputCounters
from cyanite_py.inputs.udp import receive_datagrams
from cyanite_py.model import EngineBatch
from cyanite_py.settings import settings
from cyanite_py.sflow.decoder import SflowDecoder
from cyanite_py.sflow.naming import clean


@settings
class SflowInputConfig:
    """`prefix` starts every path; `rates` emits counters as per-second rates."""

    type: Literal["sflow"] = "sflow"
    host: str = "0.0.0.0"
    port: int = 6343
    prefix: str = "sflow"
    rates: bool = False
    receive_buffer: int = 4 * 1024 * 1024

    def __post_init__(self) -> None:
        if any(not node or clean(node) != node for node in self.prefix.split(".")):
            raise ValueError(f"prefix {self.prefix!r} is not a Graphite path, e.g. 'sflow'")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is not 0-65535 (0 picks a free port)")
        if self.receive_buffer <= 0:
            raise ValueError("receive_buffer must be positive")


class SflowInput:
    """Receives sFlow v5 datagrams; `run` reports the UDP port it bound."""

    def __init__(
        self,
        config: SflowInputConfig,
        send: trio.MemorySendChannel[EngineBatch],
        registry: Registry,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._send = send
        self._clock = clock
        self._decoder = SflowDecoder(config.prefix, config.rates)
        self._counters = InputCounters(registry, f"sflow_{config.port}")
        self._samples = registry.counter(
            "input_samples_decoded", "sFlow counter samples decoded", input=self._counters.name
        )

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        config = self.config
        async with self._send:
            datagrams = receive_datagrams(
                config.host, config.port, task_status, self._counters, config.receive_buffer
            )
            async for datagram in datagrams:
                self._receive(datagram)

    def _receive(self, datagram: bytes) -> None:
        """Decode one datagram and hand its batch on, counting what happens to it."""
        counters = self._counters
        counters.datagram(len(datagram))
        batch, samples, problem = self._decoder.decode(datagram, int(self._clock()))
        if problem is not None:
            counters.reject(problem)
        self._samples.inc(samples)
        counters.offer(self._send, batch)
