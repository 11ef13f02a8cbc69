"""The frames between the server and its parse workers, written and read here only, so
the server reads them without importing what only a worker needs (Arrow among it).

A frame in is `CHUNK_HEADER` and a chunk of whole lines. A frame out is `RESULT_HEADER`,
then the times, values and path keys of its points as little-endian columns, then the
paths the worker numbered for the first time, joined by `\\n`.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from cyanite_py.carbon.lines import REASONS
from cyanite_py.model import FloatArray, IntArray, KeyArray

CHUNK_HEADER = struct.Struct("<I")
"""Bytes in the chunk that follows."""

RESULT_HEADER = struct.Struct(f"<II{len(REASONS)}I")
"""Points, bytes of new paths, and lines rejected for each of `REASONS`."""

POINT_BYTES = 8 + 8 + 4
"""A time (int64), a value (float64) and a path key (uint32)."""


def chunk_frame(chunk: bytes) -> bytes:
    return CHUNK_HEADER.pack(len(chunk)) + chunk


def result_frame(
    times: IntArray,
    values: FloatArray,
    keys: KeyArray,
    new_paths: list[str],
    rejected: Mapping[str, int],
) -> bytes:
    """The answer to one chunk."""
    names = "\n".join(new_paths).encode()
    header = RESULT_HEADER.pack(len(keys), len(names), *(rejected.get(r, 0) for r in REASONS))
    return b"".join(
        (
            header,
            np.asarray(times, dtype="<i8").tobytes(),
            np.asarray(values, dtype="<f8").tobytes(),
            np.asarray(keys, dtype="<u4").tobytes(),
            names,
        )
    )


@dataclass(frozen=True, slots=True)
class ResultHeader:
    """What a result frame's header says, and how long its body is."""

    points: int
    names_size: int
    rejected: dict[str, int]

    @classmethod
    def decode(cls, header: bytes) -> ResultHeader:
        points, names_size, *rejected = RESULT_HEADER.unpack(header)
        return cls(points, names_size, dict(zip(REASONS, rejected, strict=True)))

    @property
    def body_size(self) -> int:
        return self.points * POINT_BYTES + self.names_size

    def columns(self, body: bytes) -> tuple[KeyArray, FloatArray, IntArray]:
        """The keys, values and times of the body's points, as views of it."""
        n = self.points
        return (
            np.frombuffer(body, np.uint32, n, 16 * n),
            np.frombuffer(body, np.float64, n, 8 * n),
            np.frombuffer(body, np.int64, n, 0),
        )

    def new_paths(self, body: bytes) -> list[str]:
        """The paths the worker numbered for the first time in this frame."""
        if not self.names_size:
            return []
        return body[self.points * POINT_BYTES :].decode().split("\n")
