"""The interpreter settings `serve` applies for a responsive event loop."""

from __future__ import annotations

import subprocess
import sys

from cyanite_py.runtime import SWITCH_INTERVAL, YOUNG_COLLECTION_THRESHOLD


def test_tuning_shortens_the_switch_interval_and_spaces_young_collections() -> None:
    probe = (
        "import gc, sys; from cyanite_py.runtime import tune_for_latency;"
        "before = gc.get_threshold(); tune_for_latency();"
        "print(sys.getswitchinterval(), *gc.get_threshold(), *before[1:])"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout.split()
    interval, young, middle, oldest, middle_before, oldest_before = map(float, output)
    assert interval == SWITCH_INTERVAL
    assert young == YOUNG_COLLECTION_THRESHOLD
    assert (middle, oldest) == (middle_before, oldest_before)
