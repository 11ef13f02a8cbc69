"""Carbon's plaintext grammar, parsed a whole chunk at a time.

`path value timestamp`, fields separated by any whitespace, lines ended by `\\n` or
`\\r\\n`. NaN values are dropped; a timestamp of -1 means now; fractional timestamps are
truncated. A chunk is parsed with C-level operations (`split`, `zip`, `map(float, ...)`)
and falls back to a line-by-line pass, which names the reason for each bad line, only
when the chunk holds one.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from cyanite_py.model import PointBatch

Reject = Callable[[str, int], None]
"""Called with a reason and how many lines were rejected for it."""

REASONS = ("encoding", "fields", "value", "timestamp", "too_long", "nan")


def parse_chunk(chunk: bytes, now: int, max_line_length: int, reject: Reject) -> PointBatch:
    """Every point in `chunk`, a run of whole lines; bad lines go to `reject`."""
    try:
        lines = chunk.decode("utf-8").split("\n")
        if max(map(len, lines)) <= max_line_length:
            return _parse_fast(lines, now, reject)
    except (UnicodeDecodeError, ValueError, OverflowError):
        pass
    return _parse_slow(chunk, now, max_line_length, reject)


def _parse_fast(lines: list[str], now: int, reject: Reject) -> PointBatch:
    """Raises ValueError as soon as any line is not a well-formed point."""
    rows = [line.split() for line in lines]
    shapes = set(map(len, rows))
    if not shapes <= {0, 3}:
        raise ValueError("a line without three fields")
    if 0 in shapes:
        rows = [row for row in rows if row]
        if not rows:
            return PointBatch()
    paths, raw_values, raw_times = zip(*rows, strict=True)
    values = list(map(float, raw_values))
    times = list(map(int, map(float, raw_times)))
    batch = PointBatch(list(paths), values, times)
    if -1 in times or any(map(math.isnan, values)) or min(times) < 0:
        return clean(batch, now, reject)
    return batch


def clean(batch: PointBatch, now: int, reject: Reject) -> PointBatch:
    """Drop NaN values and bad timestamps, and put now for a timestamp of -1."""
    clean = PointBatch()
    for path, value, timestamp in zip(batch.paths, batch.values, batch.times, strict=True):
        if value != value:
            reject("nan", 1)
            continue
        if timestamp == -1:
            timestamp = now
        elif timestamp < 0:
            reject("timestamp", 1)
            continue
        clean.paths.append(path)
        clean.values.append(value)
        clean.times.append(timestamp)
    return clean


def _parse_slow(chunk: bytes, now: int, max_line_length: int, reject: Reject) -> PointBatch:
    batch = PointBatch()
    for raw in chunk.split(b"\n"):
        if len(raw) > max_line_length:
            reject("too_long", 1)
            continue
        try:
            fields = raw.decode("utf-8").split()
        except UnicodeDecodeError:
            reject("encoding", 1)
            continue
        if not fields:
            continue
        if len(fields) != 3:
            reject("fields", 1)
            continue
        path, raw_value, raw_time = fields
        try:
            value = float(raw_value)
        except ValueError:
            reject("value", 1)
            continue
        try:
            timestamp = int(float(raw_time))
        except (ValueError, OverflowError):
            reject("timestamp", 1)
            continue
        batch.paths.append(path)
        batch.values.append(value)
        batch.times.append(timestamp)
    return clean(batch, now, reject)
