"""The frames between the server and its parse workers, apart from the parsing itself, so
the server reads them without importing what only a worker needs (Arrow among it).

A frame in is `CHUNK_HEADER` and a chunk of whole lines. A frame out is `RESULT_HEADER`,
then the times, values and path keys of its points as little-endian columns, then the
paths the worker numbered for the first time, joined by `\\n`.
"""

from __future__ import annotations

import struct

from cyanite_py.inputs.lines import REASONS

CHUNK_HEADER = struct.Struct("<I")
"""Bytes in the chunk that follows."""

RESULT_HEADER = struct.Struct(f"<II{len(REASONS)}I")
"""Points, bytes of new paths, and lines rejected for each of `REASONS`."""

POINT_BYTES = 8 + 8 + 4
"""A time (int64), a value (float64) and a path key (uint32)."""
