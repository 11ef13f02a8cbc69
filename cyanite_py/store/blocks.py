"""Windows packed into blocks: one row holds up to `BLOCK_WINDOWS` windows of one path.

A store that keeps a row per window pays per row on every write and every read; packing
a path's consecutive windows into one little-endian record array per block cuts the rows
by up to `BLOCK_WINDOWS`, and a read turns blocks back into columns with one
`np.frombuffer`. A block grows by appending records, so a rewritten window may appear
twice in it: `unpack` merges records of the same time (counts and sums added, min and max
combined), which is how a late point, a checkpoint's part of a window or a replay joins
its stored window. `fold` does the same to a block's bytes once it holds more records than
windows, so repeated parts do not grow a block past its `BLOCK_WINDOWS` windows for long.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cyanite_py.model import FloatArray, IntArray, SnapshotBatch, Windows

BLOCK_WINDOWS = 64
RECORD = np.dtype(
    [("time", "<i8"), ("count", "<f8"), ("sum", "<f8"), ("min", "<f8"), ("max", "<f8")]
)

BLOCK_BYTES = BLOCK_WINDOWS * RECORD.itemsize
"""A block holding more bytes than this holds some window more than once."""

FIELDS = RECORD.itemsize // 8
"""Float64-sized fields per record, so a block also reads as a plain `(n, FIELDS)` table."""

BlockRow = tuple[int, int, int, int, memoryview]
"""`(path_id, precision, block start, period, records)`."""


def block_start(time: int, precision: int) -> int:
    """The start of the block holding the window that starts at `time`."""
    span = precision * BLOCK_WINDOWS
    return time - time % span


def sorted_records(
    batch: SnapshotBatch, path_ids: Sequence[int] | IntArray
) -> tuple[IntArray, IntArray, IntArray, np.ndarray]:
    """The batch's path ids, precisions, periods and records, sorted by path id, precision
    and time."""
    ids = np.asarray(path_ids, dtype=np.int64)
    order = np.lexsort((batch.times, batch.precisions, ids))
    records = np.empty(len(order), dtype=RECORD)
    records["time"] = batch.times[order]
    records["count"] = batch.counts[order]
    records["sum"] = batch.sums[order]
    records["min"] = batch.mins[order]
    records["max"] = batch.maxs[order]
    return ids[order], batch.precisions[order], batch.periods[order], records


def block_rows(
    ids: IntArray, precisions: IntArray, periods: IntArray, records: np.ndarray
) -> list[BlockRow]:
    """One row per (path, precision, block) of records sorted by path id, precision and
    time (repeats of a time kept in order).

    Rows are assembled by C-level `zip` and `map`, and each row's records are a view of
    one buffer: compacting a burst of writes makes tens of thousands of rows."""
    if not len(records):
        return []
    times = records["time"]
    starts = times - times % (precisions * BLOCK_WINDOWS)
    change = np.ones(len(records), dtype=bool)
    change[1:] = (ids[1:] != ids[:-1]) | (precisions[1:] != precisions[:-1])
    change[1:] |= starts[1:] != starts[:-1]
    heads = np.flatnonzero(change)
    bounds = np.append(heads, len(records)) * RECORD.itemsize
    data = np.ascontiguousarray(records).view(np.uint8).data
    blobs = map(data.__getitem__, map(slice, bounds[:-1].tolist(), bounds[1:].tolist()))
    return list(
        zip(
            ids[heads].tolist(),
            precisions[heads].tolist(),
            starts[heads].tolist(),
            periods[heads].tolist(),
            blobs,
            strict=True,
        )
    )


def unpack(blocks: Sequence[bytes | memoryview], start: int, end: int) -> Windows:
    """The windows with `start <= time < end` in these blocks, merged and in time order.

    Blocks read in key order almost always hold strictly increasing times, so the
    records are viewed as a plain float64 table, the range found by binary
    search and the columns sliced; only blocks holding a rewritten window (or out of
    order) take the sort and fold.
    """
    table = np.frombuffer(b"".join(blocks), dtype="<f8").reshape(-1, FIELDS)
    times = table[:, 0].view("<i8")
    if len(times) > 1 and not (times[1:] > times[:-1]).all():
        return _merged(table.view(RECORD).reshape(-1), start, end)
    first, last = np.searchsorted(times, (start, end)).tolist()
    return _columns(table[first:last])


def _columns(table: FloatArray) -> Windows:
    """The columns of a `(n, FIELDS)` table of records, as read-only views of it."""
    return Windows(
        times=table[:, 0].view("<i8"),
        counts=table[:, 1],
        sums=table[:, 2],
        mins=table[:, 3],
        maxs=table[:, 4],
    )


def _merged(records: np.ndarray, start: int, end: int) -> Windows:
    """The records in range sorted by time, with repeated times folded into one window."""
    records = records[(records["time"] >= start) & (records["time"] < end)]
    if not len(records):
        return Windows.empty()
    records = records[np.argsort(records["time"], kind="stable")]
    times = records["time"]
    heads = np.flatnonzero(np.append(True, times[1:] != times[:-1]))
    return Windows(
        times=times[heads].copy(),
        counts=np.add.reduceat(records["count"], heads),
        sums=np.add.reduceat(records["sum"], heads),
        mins=np.minimum.reduceat(records["min"], heads),
        maxs=np.maximum.reduceat(records["max"], heads),
    )


def fold(data: bytes) -> bytes:
    """A block's records with each window's parts merged into one record, in time order."""
    windows = _merged(
        np.frombuffer(data, dtype=RECORD), np.iinfo(np.int64).min, np.iinfo(np.int64).max
    )
    records = np.empty(len(windows), dtype=RECORD)
    records["time"] = windows.times
    records["count"] = windows.counts
    records["sum"] = windows.sums
    records["min"] = windows.mins
    records["max"] = windows.maxs
    return records.tobytes()
