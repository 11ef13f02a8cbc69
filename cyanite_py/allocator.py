"""How the C allocator gives memory back, for processes whose large arrays come and go.

glibc's malloc serves a block from its heap unless the block is larger than a threshold,
and it raises that threshold (up to 32 MiB) each time it frees a block it had mapped on
its own. Once the first large array is freed, columns, batches and dict tables of up to
32 MiB all come from the heap, which only shrinks from its top: the holes they leave when
they grow or are dropped stay resident. A fixed threshold keeps every block from 1 MiB
on in a mapping of its own, handed back to the system when freed. Measured with
`benchmarks/series_scaling.py` at 3,000,000 series: the server's peak RSS was 2.6 GiB
with glibc's defaults, 2.0-2.1 GiB with the fixed threshold, and ingestion
(`benchmarks/ingest.py`) kept its rate.

Other C libraries have no such setting (or ignore it): nothing changes there.
"""

from __future__ import annotations

import ctypes

M_MMAP_THRESHOLD = -3
"""glibc's `mallopt` parameter for the size from which blocks are mapped on their own."""
MMAP_THRESHOLD = 1 << 20


def return_large_blocks() -> None:
    """Map every block from `MMAP_THRESHOLD` on by itself, in this process, from now on."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is not None:
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
