"""Carbon's plaintext grammar, parsed a whole chunk at a time.

`path value timestamp`, fields separated by any whitespace, lines ended by `\\n` or
`\\r\\n`. NaN values are dropped; a timestamp of -1 means now; fractional timestamps are
truncated. A chunk is parsed with C-level operations (`split`, `zip`, `map(float, ...)`)
and falls back to a line-by-line pass, which names the reason for each bad line, only
when the chunk holds one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from cyanite_py.model import PointBatch

Reject = Callable[[str, int], None]
"""Called with a reason and how many lines were rejected for it."""

REASONS = ("encoding", "fields", "value", "timestamp", "too_long", "nan")

MAX_TIMESTAMP = 2**63 - 1
"""Timestamps travel as int64; a larger one is rejected, not overflowed."""


def parse_chunk(chunk: bytes, now: int, max_line_length: int, reject: Reject) -> PointBatch:
    """Every point in `chunk`, a run of whole lines; bad lines go to `reject`."""
    try:
        text = chunk.decode("utf-8")
        try:
            return _parse_canonical(text, now, max_line_length, reject)
        except ValueError:
            pass
        lines = text.split("\n")
        if max(map(len, lines)) <= max_line_length:
            return _parse_lines(lines, now, reject)
    except (UnicodeDecodeError, ValueError, OverflowError):
        pass
    return _parse_slow(chunk, now, max_line_length, reject)


def _parse_canonical(text: str, now: int, max_line_length: int, reject: Reject) -> PointBatch:
    """Split the whole chunk at once, with each line end as a token of its own.

    This fits what nearly every client sends: single spaces between fields, `\n` line
    ends. Every fourth token must then be a line end; any other spacing, or a line
    without exactly three fields, breaks that pattern or leaves an empty or unparsable
    field, and raises ValueError so the chunk goes to the general path.
    """
    if not text.endswith("\n"):
        text += "\n"
    tokens = text.replace("\n", " \n ").split(" ")
    tokens.pop()
    lines = len(tokens) // 4
    if len(tokens) != 4 * lines or tokens[3::4].count("\n") != lines:
        raise ValueError("a line without three fields")
    paths = tokens[0::4]
    plain = (_spaced_plainly(text) and all(paths)) or plain_paths(paths)
    if not plain or max(map(len, paths), default=0) > max_line_length:
        raise ValueError("an empty or over-long path, or one holding whitespace")
    values = list(map(float, tokens[1::4]))
    try:
        times = list(map(int, tokens[2::4]))
    except ValueError:
        times = list(map(int, map(float, tokens[2::4])))
    return _checked(PointBatch(paths, values, times), now, reject)


OTHER_ASCII_WHITESPACE = ("\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")
"""What `str.split()` splits on in ASCII text besides spaces and line ends."""


def _spaced_plainly(text: str) -> bool:
    """Whether `text` is ASCII without whitespace other than spaces and line ends, so no
    token of its split on spaces holds whitespace: a few scans of the whole chunk instead
    of a join and split of its paths."""
    return text.isascii() and not any(map(text.__contains__, OTHER_ASCII_WHITESPACE))


def plain_paths(paths: Sequence[str]) -> bool:
    """Whether every path is non-empty and free of any whitespace, checked at C speed."""
    return all(paths) and len(" ".join(paths).split()) == len(paths)


def _parse_lines(lines: list[str], now: int, reject: Reject) -> PointBatch:
    """Any whitespace between fields; raises ValueError at the first malformed line."""
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
    return _checked(PointBatch(list(paths), values, times), now, reject)


def _checked(batch: PointBatch, now: int, reject: Reject) -> PointBatch:
    """The batch itself when every value and timestamp is usable, else a cleaned copy."""
    times = batch.times
    if times and (
        -1 in times
        or min(times) < 0
        or max(times) > MAX_TIMESTAMP
        or any(map(math.isnan, batch.values))
    ):
        return clean(batch, now, reject)
    return batch


def clean(batch: PointBatch, now: int, reject: Reject) -> PointBatch:
    """Drop NaN values and timestamps out of range, and put now for a timestamp of -1."""
    clean = PointBatch()
    for path, value, timestamp in zip(batch.paths, batch.values, batch.times, strict=True):
        if value != value:
            reject("nan", 1)
            continue
        if timestamp == -1:
            timestamp = now
        elif not 0 <= timestamp <= MAX_TIMESTAMP:
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
