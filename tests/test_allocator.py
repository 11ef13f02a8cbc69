"""Large blocks go back to the system as soon as they are freed, however many came
before: the arrays a server grows and drops leave no resident holes."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

AFTER_LARGE_BLOCKS = """
import sys
from pathlib import Path

import numpy as np

from cyanite_py.allocator import return_large_blocks


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmRSS")


return_large_blocks()
np.ones(4 << 20, np.uint8)  # freed at once: glibc's own threshold would rise past it
before = rss_mib()
large, small = [], []
for _ in range(50):
    large.append(np.ones(4 << 20, np.uint8))
    small.append(bytearray(4096))  # outlives the large blocks, between them
del large
print(rss_mib() - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc setting")
def test_freed_large_blocks_leave_no_resident_memory() -> None:
    run = subprocess.run(
        [sys.executable, "-c", AFTER_LARGE_BLOCKS], capture_output=True, text=True, check=True
    )
    retained = float(run.stdout)
    assert retained < 20, f"{retained:.0f} MiB of 200 freed stayed resident"
