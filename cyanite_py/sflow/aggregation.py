"""How the windows of sFlow's series roll up, where their rule names no aggregation.

A counter (octets, packets, milliseconds of CPU) only grows: the value of a window is its
last sample, and so is the value of a coarser window, as a derivative needs; averaging
samples of a counter gives a count that never was. A state (`if_status`, `vcpu_state`)
is a code, so a window takes its last sample too. Every other gauge (a load, free memory,
a speed) is averaged. With `rates: true` counters arrive as per-second rates, which are
averaged as gauges are.
"""

from __future__ import annotations

from cyanite_py.model import Aggregate
from cyanite_py.sflow.layouts import FIXED

COUNTERS = frozenset(
    counter.name for layouts in FIXED.values() for layout in layouts for counter in layout.counters
)
"""Every counter field's name."""
STATES = frozenset(
    name for layouts in FIXED.values() for layout in layouts for name in layout.states
)
"""Every gauge that is a state."""

SOURCE_NODES = 3
"""`<agent>.<source>.<counter>` after the prefix."""


class SflowAggregation:
    """The aggregate of a path an sFlow input with `prefix` writes: `last` for counters
    (unless `rates`) and states; None for any other path, which its rule or the mean
    rolls up."""

    def __init__(self, prefix: str, rates: bool) -> None:
        self._start = f"{prefix}."
        self._last = STATES if rates else COUNTERS | STATES

    def __call__(self, path: str) -> Aggregate | None:
        if not path.startswith(self._start):
            return None
        nodes = path[len(self._start) :].split(".")
        if len(nodes) == SOURCE_NODES and nodes[-1] in self._last:
            return Aggregate.LAST
        return None
