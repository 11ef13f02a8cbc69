"""Large chunks of carbon plaintext in its plain form, read column-wise by Arrow's CSV reader.

Nearly every client sends `path value timestamp` with single spaces, `\\n` or `\\r\\n` line
ends, ASCII paths, and values and timestamps that parse. Arrow reads such a chunk straight
into typed columns in C++, about twice as fast as splitting it into Python strings, and
names each distinct path once.

`read_plain` answers only when its answer is exactly what `lines.parse_chunk` would give
with nothing rejected; any chunk it is unsure of gets None, and the caller parses it
line by line, which names the reason for each bad line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as arrow_csv

from cyanite_py.carbon.lines import OTHER_ASCII_WHITESPACE
from cyanite_py.model import FloatArray, IntArray

MIN_CHUNK_BYTES = 64 * 1024
"""Below this, Arrow's fixed cost per read (about 0.15 ms) outweighs what it saves."""

EXACT_TIMES = 2**53
"""Timestamps read as float64 (so `1.5e9` and `1.5` parse, as in `lines`) are exact
below this; a chunk holding a larger one takes the general path."""

SPLITTING_BYTES = tuple(c.encode() for c in OTHER_ASCII_WHITESPACE if c != "\r")
"""What else `str.split()` splits a line on; `\\r` is checked on its own, being allowed
before `\\n`."""

_PARSE = arrow_csv.ParseOptions(
    delimiter=" ", quote_char=False, escape_char=False, double_quote=False
)
_CONVERT = arrow_csv.ConvertOptions(
    column_types={"path": pa.string(), "value": pa.float64(), "time": pa.float64()},
    null_values=[],
    strings_can_be_null=False,
    quoted_strings_can_be_null=False,
)


@dataclass(frozen=True, slots=True)
class PlainColumns:
    """A chunk's points: `paths` holds each distinct path once, `path_index` says which
    one each point has."""

    paths: list[str]
    path_index: npt.NDArray[np.int32]
    values: FloatArray
    times: IntArray


def read_plain(chunk: bytes, max_line_length: int) -> PlainColumns | None:
    """The points of a large chunk in the plain form, or None if the chunk is small or
    might hold a line that the general parser would read differently or reject."""
    if len(chunk) < MIN_CHUNK_BYTES or not _plain_bytes(chunk):
        return None
    if _longest_line(chunk) > max_line_length:
        return None
    options = arrow_csv.ReadOptions(
        column_names=["path", "value", "time"], use_threads=False, block_size=len(chunk) + 1
    )
    try:
        table = arrow_csv.read_csv(
            pa.BufferReader(chunk),  # type: ignore[arg-type]  # stubs omit Arrow's own files
            read_options=options,
            parse_options=_PARSE,
            convert_options=_CONVERT,
        )
    except pa.ArrowInvalid:  # a line without three fields, or a field that does not parse
        return None
    values = table.column("value").to_numpy()
    times = table.column("time").to_numpy()
    if not _usable(values, times):
        return None
    encoded = table.column("path").combine_chunks().dictionary_encode()
    paths = cast(list[str], encoded.dictionary.to_pylist())
    if not all(paths):  # a line starting with a space
        return None
    return PlainColumns(
        paths, encoded.indices.to_numpy(), values, times.astype(np.int64, copy=False)
    )


def _plain_bytes(chunk: bytes) -> bool:
    """ASCII, split only by spaces and line ends, and every `\\r` ending a line: then Arrow
    and `str.split` find the same fields."""
    if not chunk.isascii() or any(map(chunk.__contains__, SPLITTING_BYTES)):
        return False
    return b"\r" not in chunk or chunk.count(b"\r") == chunk.count(b"\r\n")


def _longest_line(chunk: bytes) -> int:
    ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == ord("\n"))
    bounds = np.concatenate(([-1], ends, [len(chunk)]))
    return int(np.diff(bounds).max()) - 1


def _usable(values: FloatArray, times: FloatArray) -> bool:
    """No NaN value (dropped and counted), and every timestamp a finite, non-negative
    float that converts exactly (-1 means now, other negatives are rejected)."""
    if not len(times):
        return True
    if np.isnan(values).any() or not np.isfinite(times).all():
        return False
    return bool(times.min() >= 0 and times.max() < EXACT_TIMES)
