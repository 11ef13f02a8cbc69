"""sFlow v5 over UDP: every counter sample becomes points for the engine.

Each datagram is decoded into one batch (see `cyanite_py.sflow` for the naming scheme
and rates). UDP cannot push back, so a batch that finds the engine's queue full is
dropped and counted rather than waited for. Two bounds hold against spoofed or
flooding senders: only `max_agents` agents and `max_sources` data sources make series
(see `cyanite_py.sflow.admission`), and decoding may take at most `max_decode_share` of
a core, averaged over a second; datagrams past that are dropped unread and counted
(`busy`), so a flood of large datagrams leaves the event loop time for everything else.
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
from cyanite_py.sflow.admission import SourceAdmission
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
    max_agents: int = 4096
    max_sources: int = 65536
    max_decode_share: float = 0.5

    def __post_init__(self) -> None:
        if any(not node or clean(node) != node for node in self.prefix.split(".")):
            raise ValueError(f"prefix {self.prefix!r} is not a Graphite path, e.g. 'sflow'")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is not 0-65535 (0 picks a free port)")
        if self.receive_buffer <= 0:
            raise ValueError("receive_buffer must be positive")
        if self.max_agents <= 0 or self.max_sources <= 0:
            raise ValueError("max_agents and max_sources must be positive")
        if not 0 < self.max_decode_share <= 1:
            raise ValueError("max_decode_share must be above 0 and at most 1")


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
        self.admission = SourceAdmission(config.max_agents, config.max_sources)
        self._decoder = SflowDecoder(config.prefix, config.rates, self.admission)
        self._counters = InputCounters(registry, "sflow", config.port)
        name = self._counters.name
        self._samples = registry.counter(
            "input_samples_decoded", "sFlow counter samples decoded", input=name
        )
        registry.gauge(
            "input_sflow_agents",
            "agents admitted",
            lambda: float(self.admission.agents),
            input=name,
        )
        registry.gauge(
            "input_sflow_sources",
            "data sources admitted",
            lambda: float(self.admission.sources),
            input=name,
        )
        self._credit = config.max_decode_share
        self._refilled = time.monotonic()

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
        if not self._has_credit():
            counters.reject("busy")
            return
        started = time.perf_counter()
        decoded = self._decoder.decode(datagram, int(self._clock()))
        if decoded.problem is not None:
            counters.reject(decoded.problem)
        if decoded.refusal is not None:
            counters.reject(decoded.refusal, decoded.refused)
        self._samples.inc(decoded.samples)
        counters.offer(self._send, decoded.batch)
        self._credit -= time.perf_counter() - started

    def _has_credit(self) -> bool:
        """Whether decoding is within its share of a core: seconds of decoding earned at
        `max_decode_share` per second, up to one second's worth, less those spent."""
        share = self.config.max_decode_share
        now = time.monotonic()
        self._credit = min(share, self._credit + (now - self._refilled) * share)
        self._refilled = now
        return self._credit > 0
