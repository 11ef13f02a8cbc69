"""The counters every input moves, labelled with the input's name."""

from __future__ import annotations

import trio

from cyanite_py.counters import Counter, Registry
from cyanite_py.model import EngineBatch, PointBatch


class InputCounters:
    """Points received, rejected (by reason) and dropped, bytes and connections, for one input."""

    def __init__(self, registry: Registry, kind: str, port: int) -> None:
        """Counters labelled `input=<kind>_<port>`; `bound` corrects a picked port."""
        self.registry = registry
        self.kind = kind
        self.name = name = f"{kind}_{port}"
        self.points = registry.counter("input_points_received", "points accepted", input=name)
        self.bytes = registry.counter("input_bytes_received", "bytes read", input=name)
        self.connections = registry.counter(
            "input_connections", "connections or datagrams accepted", input=name
        )
        self.dropped = registry.counter(
            "input_points_dropped", "points dropped because the engine was behind", input=name
        )
        self._rejected: dict[str, Counter] = {}

    def bound(self, port: int) -> None:
        """Label the input with the port it bound (it differs when 0 asked for any)."""
        name = f"{self.kind}_{port}"
        if name != self.name:
            self.registry.relabel("input", self.name, name)
            self.name = name

    def reject(self, reason: str, count: int = 1) -> None:
        """Count `count` rejected lines or items for `reason`."""
        counter = self._rejected.get(reason)
        if counter is None:
            counter = self._rejected[reason] = self.registry.counter(
                "input_rejected",
                "lines or items rejected, by reason",
                input=self.name,
                reason=reason,
            )
        counter.inc(count)

    def datagram(self, size: int) -> None:
        """Count one datagram of `size` bytes."""
        self.connections.inc()
        self.bytes.inc(size)

    def offer(self, send: trio.MemorySendChannel[EngineBatch], batch: PointBatch) -> None:
        """Hand `batch` on without waiting (UDP cannot push back); count it kept or dropped."""
        if not len(batch):
            return
        try:
            send.send_nowait(batch)
        except trio.WouldBlock:
            self.dropped.inc(len(batch))
        else:
            self.points.inc(len(batch))
