"""One datagram in, one batch of points out: parsing, naming and (optionally) rates.

The decoder keeps what naming and rates need to remember between datagrams (hostnames
learnt from agents, previous counter values), so one decoder serves one input.
"""

from __future__ import annotations

from typing import NamedTuple

from cyanite_py.model import PointBatch
from cyanite_py.sflow.admission import SourceAdmission
from cyanite_py.sflow.naming import AgentNames, source_name
from cyanite_py.sflow.rates import RateTracker
from cyanite_py.sflow.wire import parse_datagram


class Decoded(NamedTuple):
    """A datagram's points, how many counter samples gave them, and its first damage;
    samples refused by admission are counted apart, with the reason."""

    batch: PointBatch
    samples: int
    problem: str | None
    refused: int = 0
    refusal: str | None = None


class SflowDecoder:
    """Turns sFlow v5 datagrams into points named `<prefix>.<agent>.<source>.<counter>`.

    Counters are emitted as raw values, or with `rates` as per-second rates; gauges are
    emitted as they are either way. Every point carries the receive time `now`.
    """

    def __init__(
        self,
        prefix: str = "sflow",
        rates: bool = False,
        admission: SourceAdmission | None = None,
    ) -> None:
        self._prefix = prefix
        self._names = AgentNames()
        self._rates = RateTracker() if rates else None
        self._admission = admission

    def decode(self, data: bytes, now: int) -> Decoded:
        datagram = parse_datagram(data)
        batch = PointBatch()
        samples = datagram.samples
        if not samples:
            return Decoded(batch, 0, datagram.problem)
        agent_name = self._names.name(datagram.agent, samples)
        agent = f"{self._prefix}.{agent_name}."
        paths, values = batch.paths, batch.values
        tracker = self._rates
        epoch = 0
        if tracker is not None:
            epoch = tracker.agent_epoch(
                (datagram.agent, datagram.sub_agent), datagram.sequence, datagram.uptime
            )
        refused, refusal = 0, None
        for sample in samples:
            source = source_name(sample)
            if self._admission is not None:
                reason = self._admission.refusal(agent_name, source)
                if reason is not None:
                    refused, refusal = refused + 1, reason
                    continue
            base = agent + source + "."
            gauges = sample.gauges
            paths.extend([base + name for name, _ in gauges])
            values.extend([value for _, value in gauges])
            if tracker is None:
                counters = sample.counters
                paths.extend([base + name for name, _, _ in counters])
                values.extend([float(raw) for _, raw, _ in counters])
                continue
            key = (datagram.agent, datagram.sub_agent, sample.source_type, sample.source_index)
            rates = tracker.rates(key, epoch, sample.sequence, datagram.uptime, sample.counters)
            paths.extend([base + name for name, _ in rates])
            values.extend([rate for _, rate in rates])
        batch.times = [now] * len(paths)
        return Decoded(batch, len(samples), datagram.problem, refused, refusal)
