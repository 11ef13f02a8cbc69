"""Windows packed into blocks: one row holds up to `BLOCK_WINDOWS` windows of one path.

A store that keeps a row per window pays per row on every write and every read; packing
a path's consecutive windows into one little-endian record array per block cuts the rows
by up to `BLOCK_WINDOWS`, and a read turns blocks back into columns with one
`np.frombuffer`. A block grows by appending records, so a rewritten window may appear
twice in it: `unpack` merges records of the same time (counts and sums added, min and max
combined, the last point of the latest time kept, the record appended later winning a
tie), which is how a late point, a checkpoint's part of a window or a replay joins its
stored window. `fold` does the same to a block's bytes once it holds more records than
windows, so repeated parts do not grow a block past its `BLOCK_WINDOWS` windows for long.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cyanite_py.model import FloatArray, IntArray, SnapshotBatch, Windows

BLOCK_WINDOWS = 64
RECORD = np.dtype(
    [
        ("time", "<i8"),
        ("count", "<f8"),
        ("sum", "<f8"),
        ("min", "<f8"),
        ("max", "<f8"),
        ("last", "<f8"),
        ("last_time", "<i8"),
    ]
)
"""One window: `last` is its last point's value and `last_time` that point's time
(`NO_TIME` and NaN for windows that do not know it)."""

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
    records["last"] = batch.lasts[order]
    records["last_time"] = batch.last_times[order]
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
        lasts=table[:, 5],
    )


def latest_of_groups(
    heads: IntArray, last_times: IntArray, written: IntArray | None = None
) -> IntArray:
    """In records grouped by window (each group from one of `heads` to the next), the
    position of each group's record whose last point is latest, the one `written` later
    (else later in the records) on a tie: the record whose last point the merged window
    keeps."""
    size = len(last_times)
    groups = np.repeat(np.arange(len(heads)), np.diff(np.append(heads, size)))
    arrival = [np.arange(size)] if written is None else [np.arange(size), written]
    order = np.lexsort((*arrival, last_times, groups))
    latest: IntArray = order[np.append(heads[1:], size) - 1]
    return latest


def folded_records(records: np.ndarray) -> np.ndarray:
    """`records` sorted by time, each time's records merged into one: counts and sums
    added, min and max combined, and the last point of the latest `last_time` kept, the
    one later in `records` winning a tie."""
    order = np.lexsort((np.arange(len(records)), records["last_time"], records["time"]))
    records = records[order]
    times = records["time"]
    heads = np.flatnonzero(np.append(True, times[1:] != times[:-1]))
    merged: np.ndarray = records[np.append(heads[1:], len(records)) - 1]  # each latest last
    merged["count"] = np.add.reduceat(records["count"], heads)
    merged["sum"] = np.add.reduceat(records["sum"], heads)
    merged["min"] = np.minimum.reduceat(records["min"], heads)
    merged["max"] = np.maximum.reduceat(records["max"], heads)
    return merged


def _merged(records: np.ndarray, start: int, end: int) -> Windows:
    """The records in range sorted by time, with repeated times folded into one window."""
    records = records[(records["time"] >= start) & (records["time"] < end)]
    if not len(records):
        return Windows.empty()
    merged = folded_records(records)
    return Windows(
        times=merged["time"],
        counts=merged["count"],
        sums=merged["sum"],
        mins=merged["min"],
        maxs=merged["max"],
        lasts=merged["last"],
    )


def fold(data: bytes) -> bytes:
    """A block's records with each window's parts merged into one record, in time order."""
    return folded_records(np.frombuffer(data, dtype=RECORD)).tobytes()
