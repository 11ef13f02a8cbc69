"""Where windows go in the Cassandra store's `block` table, apart from the driver.

A row holds one path's windows in one block of `BLOCK_WINDOWS` (256) windows, as one
write brought them, so a replayed day of a 10 s series is 34 rows, not 8,640: a read's
cost in Cassandra is mostly per row. Rows are keyed
`((path, precision, part), start, stamp)`:

- `part` bounds a partition to `PART_WINDOWS` windows of one path and resolution
  (22.75 h at 10 s, 5.7 days at 1 min), so no partition grows with retention;
- `start` is the block's first window, so a read of a time range takes only the blocks
  that overlap it;
- `stamp` names the write, so a window written again (a late point, a checkpoint of an
  open window, a replay, a second server) adds a row instead of replacing one, and a read
  folds the windows of one time together: counts and sums added, min and max combined,
  with no read before the write.

A row's windows are stored column-wise (the batch sorted as `blocks.sorted_records`
sorts it): `offsets` (uint8, windows after the block's start), then little-endian
float64 `counts`, `sums`, `mins` and `maxs`; `counts` holds one value when every window
of the row has the same count, as a series sent once a window has. A read asks only for
the columns its aggregate needs, 9 bytes a window for a mean of such a series and for
the other aggregates instead of 40: the bytes a read moves through Cassandra and the
driver are what its time is spent on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from cyanite_py.model import FloatArray, IntArray, Series, SnapshotBatch, Windows
from cyanite_py.store.blocks import sorted_records

BLOCK_WINDOWS = 256
"""Windows one row spans at most, so an offset fits in a byte."""
PART_BLOCKS = 32
PART_WINDOWS = PART_BLOCKS * BLOCK_WINDOWS
"""Windows one partition spans at most: 8,192, at most 328 KiB of columns, plus what
windows written in several parts add until they expire."""
MAX_TTL = 20 * 365 * 86400
"""Cassandra refuses a TTL above 20 years."""
BATCH_BYTES = 32 * 1024
"""Bytes of rows sent in one unlogged batch at most, with room below Cassandra's default
50 KiB `batch_size_fail_threshold`."""
ROW_OVERHEAD = 160
"""Bytes Cassandra counts for a row beside its path and columns (key, stamp, and a
timestamp and TTL per cell), counted against `BATCH_BYTES`."""
WINDOW_BYTES = 33
"""Stored bytes a window: one offset and four float64 columns."""
VALUE_COLUMNS = ("counts", "sums", "mins", "maxs")
NEEDS = {
    "mean": ("counts", "sums"),
    "sum": ("sums",),
    "count": ("counts",),
    "min": ("mins",),
    "max": ("maxs",),
}
"""The value columns a read of each aggregate asks for."""

RowValues = tuple[str, int, int, int, int, bytes, bytes, bytes, bytes, bytes, int]
"""One `block` row in bind order:
`(path, precision, part, start, stamp, offsets, counts, sums, mins, maxs, ttl)`."""


def part_start(time: int, precision: int) -> int:
    """The start of the partition holding the window that starts at `time`."""
    span = precision * PART_WINDOWS
    return time - time % span


def write_rows(batch: SnapshotBatch, stamp: int) -> list[RowValues]:
    """The batch's rows under `stamp`, one per path, precision and block, in key order
    (so rows of one partition are neighbours). Every column of every row is a slice of
    one bytes object per column, cut by C-level `map`: a flush makes tens of thousands of
    rows, and bytes, unlike views, cost the garbage collector nothing."""
    ids, precisions, periods, records = _merged_records(*sorted_records(batch, batch.keys))
    if not len(records):
        return []
    times = records["time"]
    spans = precisions * BLOCK_WINDOWS
    starts = times - times % spans
    change = np.ones(len(records), dtype=bool)
    change[1:] = (ids[1:] != ids[:-1]) | (precisions[1:] != precisions[:-1])
    change[1:] |= starts[1:] != starts[:-1]
    heads = np.flatnonzero(change)
    bounds = np.append(heads, len(records))
    offsets = ((times - starts) // precisions).astype(np.uint8)
    counts = records["count"]
    same = np.minimum.reduceat(counts, heads) == np.maximum.reduceat(counts, heads)
    count_ends = np.where(same, heads + 1, bounds[1:])
    columns = [_slices(offsets, bounds), _slices(counts, bounds, count_ends)]
    columns += [_slices(records[name[:-1]], bounds) for name in VALUE_COLUMNS[1:]]
    names = batch.table.names
    head_precisions = precisions[heads]
    head_starts = starts[heads]
    return list(
        zip(
            map(names.__getitem__, ids[heads].tolist()),
            head_precisions.tolist(),
            (head_starts - head_starts % (head_precisions * PART_WINDOWS)).tolist(),
            head_starts.tolist(),
            [stamp] * len(heads),
            *columns,
            np.minimum(periods[heads], MAX_TTL).tolist(),
            strict=True,
        )
    )


def _merged_records(
    ids: IntArray, precisions: IntArray, periods: IntArray, records: np.ndarray
) -> tuple[IntArray, IntArray, IntArray, np.ndarray]:
    """Sorted records with the parts of one window that a write brings together (the
    checkpoints a writer catching up coalesced) merged into one record."""
    times = records["time"]
    same = (ids[1:] == ids[:-1]) & (precisions[1:] == precisions[:-1]) & (times[1:] == times[:-1])
    if not same.any():
        return ids, precisions, periods, records
    heads = np.flatnonzero(np.append(True, ~same))
    merged = records[heads]
    for name, merge in (
        ("count", np.add),
        ("sum", np.add),
        ("min", np.minimum),
        ("max", np.maximum),
    ):
        merged[name] = merge.reduceat(records[name], heads)
    return ids[heads], precisions[heads], periods[heads], merged


def _slices(column: np.ndarray, bounds: IntArray, ends: IntArray | None = None) -> Iterator[bytes]:
    """The bytes of `column` from each of `bounds` to the next (or to `ends`)."""
    data = np.ascontiguousarray(column).tobytes()
    size = column.dtype.itemsize
    firsts = (bounds[:-1] * size).tolist()
    lasts = ((bounds[1:] if ends is None else ends) * size).tolist()
    return map(data.__getitem__, map(slice, firsts, lasts))


def requests(rows: Iterable[RowValues], max_rows: int) -> Iterator[list[RowValues]]:
    """`rows` cut, in order, into runs of at most `max_rows` rows and `BATCH_BYTES`: each run
    is one unlogged batch, so the cost per request is shared by many rows."""
    run: list[RowValues] = []
    size = 0
    for row in rows:
        cost = len(row[0]) + len(row[5]) * WINDOW_BYTES + ROW_OVERHEAD
        if run and (len(run) == max_rows or size + cost > BATCH_BYTES):
            yield run
            run, size = [], 0
        run.append(row)
        size += cost
    if run:
        yield run


def read_spans(start: int, end: int, precision: int) -> tuple[list[int], int]:
    """The partitions that may hold windows with `start <= time < end`, and the start of
    the first block to read: blocks are read whole, the range is cut after decoding."""
    if end <= start:
        return [], start
    first_block = start - start % (precision * BLOCK_WINDOWS)
    span = precision * PART_WINDOWS
    return list(range(part_start(first_block, precision), end, span)), first_block


Block = tuple[Any, ...]
"""A read row: `(path, part, start, offsets, *value columns as in NEEDS[aggregate])`."""


def series(
    path: str, blocks: list[Block], start: int, end: int, precision: int, aggregate: str
) -> Series:
    """`aggregate` of the windows in a path's read rows with `start <= time < end`.

    Sorting the rows by partition, block and first window puts the windows in time order
    unless a window was written in parts; only then are they sorted and folded."""
    blocks.sort(key=_block_key)
    columns = list(zip(*blocks, strict=True))
    offsets = np.frombuffer(b"".join(columns[3]), dtype=np.uint8)
    lengths = list(map(len, columns[3]))
    times = np.repeat(np.array(columns[2], dtype=np.int64), lengths)
    times += offsets.astype(np.int64) * precision
    values = [
        counted(lengths, column) if name == "counts" else np.frombuffer(b"".join(column), "<f8")
        for name, column in zip(NEEDS[aggregate], columns[4:], strict=True)
    ]
    if len(times) > 1 and not (times[1:] > times[:-1]).all():
        times, values = folded(times, values, NEEDS[aggregate])
    low, high = np.searchsorted(times, (start, end)).tolist()
    found = dict(zip(NEEDS[aggregate], (column[low:high] for column in values), strict=True))
    times = times[low:high]
    missing = np.full(len(times), np.nan)
    windows = Windows(
        times=times,
        counts=found.get("counts", missing),
        sums=found.get("sums", missing),
        mins=found.get("mins", missing),
        maxs=found.get("maxs", missing),
    )
    return windows.series(path, start, end, precision, aggregate)


def counted(lengths: Sequence[int], counts: Sequence[bytes]) -> FloatArray:
    """Each window's count, from rows of `lengths` windows whose `counts` hold one value
    a window, or one for all."""
    column = np.frombuffer(b"".join(counts), dtype="<f8")
    if len(column) == sum(lengths):
        return column
    held = np.fromiter(map(len, counts), dtype=np.int64, count=len(counts)) // 8
    windows = np.asarray(lengths, dtype=np.int64)
    return np.repeat(column, np.repeat(np.where(held == 1, windows, 1), held))


def _block_key(block: Block) -> tuple[int, int, int]:
    return block[1], block[2], block[3][0]


_FOLD = {"counts": np.add, "sums": np.add, "mins": np.minimum, "maxs": np.maximum}


def folded(
    times: IntArray, values: list[FloatArray], names: Sequence[str] = VALUE_COLUMNS
) -> tuple[IntArray, list[FloatArray]]:
    """Windows sorted by time (or offset), each time's parts merged into one window:
    `values` are the columns `names`, counts and sums added, min and max combined."""
    order = np.argsort(times, kind="stable")
    times = times[order]
    heads = np.flatnonzero(np.append(True, times[1:] != times[:-1]))
    merged = [
        _FOLD[name].reduceat(column[order], heads)
        for name, column in zip(names, values, strict=True)
    ]
    return times[heads], merged
