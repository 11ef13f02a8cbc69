"""The server's own counters and gauges, named once and read by the reporter.

Counters only go up; gauges are read live through a callable. Every component is
handed the one `Registry` and asks it for the counters it moves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

Labels = tuple[tuple[str, str], ...]


@dataclass(slots=True)
class Counter:
    """A monotonically increasing count."""

    name: str
    help: str
    labels: Labels = ()
    value: int = 0

    def inc(self, amount: int = 1) -> None:
        self.value += amount


@dataclass(frozen=True, slots=True)
class Gauge:
    """A value read when reported, such as a queue's depth."""

    name: str
    help: str
    read: Callable[[], float]
    labels: Labels = ()


@dataclass(slots=True)
class Registry:
    """Every counter and gauge of one server, keyed by name and labels."""

    counters: dict[tuple[str, Labels], Counter] = field(default_factory=dict)
    gauges: dict[tuple[str, Labels], Gauge] = field(default_factory=dict)

    def counter(self, name: str, help: str, **labels: str) -> Counter:
        """The counter `name` with these labels, made on first use."""
        key = (name, tuple(sorted(labels.items())))
        found = self.counters.get(key)
        if found is None:
            found = self.counters[key] = Counter(name, help, key[1])
        return found

    def gauge(self, name: str, help: str, read: Callable[[], float], **labels: str) -> Gauge:
        """Register a gauge read through `read`; a later registration replaces it."""
        key = (name, tuple(sorted(labels.items())))
        gauge = self.gauges[key] = Gauge(name, help, read, key[1])
        return gauge

    def relabel(self, label: str, old: str, new: str) -> None:
        """Give every counter and gauge labelled `label=old` the value `new` instead,
        keeping the objects components already hold."""

        def moved(labels: Labels) -> Labels:
            return tuple(sorted((k, new if (k, v) == (label, old) else v) for k, v in labels))

        for key, counter in list(self.counters.items()):
            if (label, old) in key[1]:
                del self.counters[key]
                counter.labels = moved(counter.labels)
                self.counters[(key[0], counter.labels)] = counter
        for key, gauge in list(self.gauges.items()):
            if (label, old) in key[1]:
                del self.gauges[key]
                labels = moved(gauge.labels)
                self.gauges[(key[0], labels)] = replace(gauge, labels=labels)

    def value(self, name: str, **labels: str) -> int:
        """A counter's current value, 0 when it was never made."""
        found = self.counters.get((name, tuple(sorted(labels.items()))))
        return 0 if found is None else found.value

    def total(self, name: str) -> int:
        """The sum of a counter over all its labels."""
        return sum(c.value for (n, _), c in self.counters.items() if n == name)

    def samples(self) -> Iterator[tuple[str, str, Labels, float, str]]:
        """`(name, help, labels, value, kind)` for every counter and gauge."""
        for counter in self.counters.values():
            yield counter.name, counter.help, counter.labels, counter.value, "counter"
        for gauge in self.gauges.values():
            yield gauge.name, gauge.help, gauge.labels, gauge.read(), "gauge"
