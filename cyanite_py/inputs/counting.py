"""The counters every input moves, labelled with the input's name."""

from __future__ import annotations

from cyanite_py.counters import Counter, Registry


class InputCounters:
    """Points received, rejected (by reason) and dropped, bytes and connections, for one input."""

    def __init__(self, registry: Registry, name: str) -> None:
        self._registry = registry
        self.name = name
        self.points = registry.counter("input_points_received", "points accepted", input=name)
        self.bytes = registry.counter("input_bytes_received", "bytes read", input=name)
        self.connections = registry.counter(
            "input_connections", "connections or datagrams accepted", input=name
        )
        self.dropped = registry.counter(
            "input_points_dropped", "points dropped because the engine was behind", input=name
        )
        self._rejected: dict[str, Counter] = {}

    def reject(self, reason: str, count: int = 1) -> None:
        """Count `count` rejected lines or items for `reason`."""
        counter = self._rejected.get(reason)
        if counter is None:
            counter = self._rejected[reason] = self._registry.counter(
                "input_rejected",
                "lines or items rejected, by reason",
                input=self.name,
                reason=reason,
            )
        counter.inc(count)
