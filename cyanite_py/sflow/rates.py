"""Per-second rates from sFlow counters, across counter wraps and agent restarts.

A counter's rate is its increase since the same source's previous sample, divided by the
time between them on the agent's own clock (the datagrams' uptime, in milliseconds), so
network delay and batching do not skew it. The increase is taken modulo the counter's
width, so a 32-bit or 64-bit counter that wrapped still gives the right rate.

A restart makes every earlier value meaningless, so the baselines are dropped and the
first sample after it gives no rate:
- an agent restarted when its datagram sequence number or its uptime goes back (an
  uptime going back by less than `UPTIME_WRAP_MS` across 2**32 ms is its 32-bit wrap,
  about every 49.7 days, not a restart);
- a source restarted when its own sample sequence number goes back.
A source's first sample, and a counter unknown in the previous sample, give no rate either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

UPTIME_MODULUS = 1 << 32
UPTIME_WRAP_MS = 3_600_000
MAX_SOURCES = 1 << 18

K = TypeVar("K")
V = TypeVar("V")

AgentKey = tuple[str, int]
"""Agent address and sub-agent id."""
SourceKey = tuple[str, int, int, int]
"""Agent address, sub-agent id, data source type and index."""


@dataclass(slots=True)
class _Agent:
    sequence: int
    uptime: int
    epoch: int


@dataclass(slots=True)
class _Source:
    epoch: int
    sequence: int
    uptime: int
    values: dict[str, int]


class RateTracker:
    """The previous counter values of every source, bounded to `limit` sources.

    Past the bound the oldest source (and agent) is forgotten and starts over, so spoofed
    datagrams cannot grow memory without end.
    """

    def __init__(self, limit: int = MAX_SOURCES) -> None:
        self._limit = limit
        self._agents: dict[AgentKey, _Agent] = {}
        self._sources: dict[SourceKey, _Source] = {}
        self._epochs = 0

    def agent_epoch(self, key: AgentKey, sequence: int, uptime: int) -> int:
        """Note a datagram's header; the agent's epoch changes when it restarted."""
        agent = self._agents.get(key)
        if agent is None:
            agent = _Agent(sequence, uptime, self._new_epoch())
            _bounded_put(self._agents, key, agent, self._limit)
            return agent.epoch
        went_back = uptime < agent.uptime
        wrapped = went_back and (uptime - agent.uptime) % UPTIME_MODULUS < UPTIME_WRAP_MS
        if sequence < agent.sequence or (went_back and not wrapped):
            agent.epoch = self._new_epoch()
        agent.sequence, agent.uptime = sequence, uptime
        return agent.epoch

    def rates(
        self,
        key: SourceKey,
        epoch: int,
        sequence: int,
        uptime: int,
        counters: list[tuple[str, int, int]],
    ) -> list[tuple[str, float]]:
        """`(name, per-second rate)` for each counter of one sample that has a baseline."""
        values = {name: value for name, value, _ in counters}
        source = self._sources.get(key)
        if source is None:
            _bounded_put(self._sources, key, _Source(epoch, sequence, uptime, values), self._limit)
            return []
        elapsed = (uptime - source.uptime) % UPTIME_MODULUS
        restarted = source.epoch != epoch or sequence < source.sequence
        if elapsed == 0 and not restarted:
            return []
        previous = source.values
        source.epoch, source.sequence, source.uptime, source.values = (
            epoch,
            sequence,
            uptime,
            values,
        )
        if restarted:
            return []
        per_ms = 1000.0 / elapsed
        found = []
        for name, value, modulus in counters:
            before = previous.get(name)
            if before is not None:
                found.append((name, ((value - before) % modulus) * per_ms))
        return found

    def _new_epoch(self) -> int:
        self._epochs += 1
        return self._epochs


def _bounded_put(table: dict[K, V], key: K, value: V, limit: int) -> None:
    if len(table) >= limit:
        del table[next(iter(table))]
    table[key] = value
