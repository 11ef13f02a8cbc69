"""Interpreter settings for a server whose event loop shares the GIL with worker threads.

Heavy requests are evaluated in worker threads (`api.offload`), but a thread holding the
GIL still delays the event loop: after every system call the loop must wait for the GIL
to come back, up to the switch interval each time, and a garbage collection holds it
from start to end. Measured with `benchmarks/hostile_requests.py`, a glob or expand over
100,000 paths kept /ping waiting 80-230 ms (p99) with the interpreter's defaults and
under 20 ms with these.
"""

from __future__ import annotations

import gc
import sys

SWITCH_INTERVAL = 0.0005
"""Seconds a thread may keep the GIL while another waits for it (the default is 5 ms)."""

YOUNG_COLLECTION_THRESHOLD = 50_000
"""Allocations between collections of the youngest generation (the default is 700).
A request that builds 100,000 objects then triggers two young collections instead of
a hundred, and the older generations are collected as much less often."""


def tune_for_latency() -> None:
    """Apply both settings to this process."""
    sys.setswitchinterval(SWITCH_INTERVAL)
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, oldest)
