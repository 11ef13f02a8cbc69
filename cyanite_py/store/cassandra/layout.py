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
  the last point of the latest time kept (of two rows with last points of the same time,
  the one Cassandra holds as written later, by its write time), with no read before the
  write.

A row's windows are stored column-wise (the batch sorted as `blocks.sorted_records`
sorts it): `offsets` (uint8, windows after the block's start), then little-endian
float64 `counts`, `sums`, `mins`, `maxs` and `lasts` (each window's last point), then
little-endian int32 `last_offsets` (seconds from each window's start to its last point;
-1 where unknown). `counts` and `last_offsets` hold one value when every window of the
row has the same one, as a series sent once a window at a steady phase has, and `lasts`
is empty when every window holds one point, whose value its sum already is. A read asks
only for the columns its aggregate needs, 9 bytes a window for a mean of such a series,
for its last points and for the other aggregates instead of 52: the bytes a read moves
through Cassandra and the driver are what its time is spent on.

Rows written before windows kept their last point have no `lasts` and `last_offsets`
(null): their windows read their mean as their last point.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from cyanite_py.model import (
    NO_TIME,
    Aggregate,
    FloatArray,
    IntArray,
    Series,
    SnapshotBatch,
    Windows,
)
from cyanite_py.store.blocks import latest_of_groups, sorted_records

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
VALUE_COLUMNS = ("counts", "sums", "mins", "maxs", "lasts", "last_offsets")
LAST_COLUMNS_CQL = "ALTER TABLE {keyspace}.block ADD (lasts blob, last_offsets blob)"
"""Adds the columns of last points to a `block` table created before they were kept."""
NEEDS = {
    Aggregate.MEAN: ("counts", "sums"),
    Aggregate.SUM: ("sums",),
    Aggregate.COUNT: ("counts",),
    Aggregate.MIN: ("mins",),
    Aggregate.MAX: ("maxs",),
    Aggregate.LAST: ("counts", "sums", "lasts", "last_offsets"),
}
"""The value columns a read of each aggregate asks for; a read of last points asks for
each row's write time too (`WRITTEN`), which decides between last points of one time."""
WRITTEN = "WRITETIME(sums)"
UNKNOWN_OFFSET = -1
"""A `last_offsets` value: the window does not know its last point."""

RowValues = tuple[str, int, int, int, int, bytes, bytes, bytes, bytes, bytes, bytes, bytes, int]
"""One `block` row in bind order: `(path, precision, part, start, stamp, offsets,
counts, sums, mins, maxs, lasts, last_offsets, ttl)`."""


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
    lowest, highest = np.minimum.reduceat(counts, heads), np.maximum.reduceat(counts, heads)
    last_offsets = last_offsets_of(records["last_time"], times)
    steady = np.minimum.reduceat(last_offsets, heads) == np.maximum.reduceat(last_offsets, heads)
    columns = [
        _slices(offsets, bounds),
        _slices(counts, bounds, np.where(lowest == highest, heads + 1, bounds[1:])),
        _slices(records["sum"], bounds),
        _slices(records["min"], bounds),
        _slices(records["max"], bounds),
        _slices(records["last"], bounds, np.where(highest == 1, heads, bounds[1:])),
        _slices(last_offsets, bounds, np.where(steady, heads + 1, bounds[1:])),
    ]
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


def last_offsets_of(last_times: IntArray, times: IntArray) -> npt.NDArray[np.int32]:
    """Each window's `last_offsets` value: its last point's time after its start."""
    offsets = np.where(last_times == NO_TIME, UNKNOWN_OFFSET, last_times - times)
    return offsets.astype("<i4")


def row_columns(
    times: IntArray, columns: Columns, start: int, precision: int
) -> tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes]:
    """The stored columns, from `offsets` to `last_offsets`, of one row holding windows
    at `times` (sorted) of the block at `start`, laid out as `write_rows` lays them."""
    counts, last_times = columns["counts"], columns["last_times"]
    last_offsets = last_offsets_of(last_times, times)
    return (
        ((times - start) // precision).astype(np.uint8).tobytes(),
        (counts[:1] if (counts == counts[0]).all() else counts).tobytes(),
        columns["sums"].tobytes(),
        columns["mins"].tobytes(),
        columns["maxs"].tobytes(),
        b"" if (counts == 1).all() else columns["lasts"].tobytes(),
        (last_offsets[:1] if (last_offsets == last_offsets[0]).all() else last_offsets).tobytes(),
    )


def _merged_records(
    ids: IntArray, precisions: IntArray, periods: IntArray, records: np.ndarray
) -> tuple[IntArray, IntArray, IntArray, np.ndarray]:
    """Sorted records with the parts of one window that a write brings together (the
    checkpoints a writer catching up coalesced) merged into one record, which keeps the
    last point of the latest time (of the later part, on a tie)."""
    times = records["time"]
    same = (ids[1:] == ids[:-1]) & (precisions[1:] == precisions[:-1]) & (times[1:] == times[:-1])
    if not same.any():
        return ids, precisions, periods, records
    heads = np.flatnonzero(np.append(True, ~same))
    merged = records[latest_of_groups(heads, records["last_time"])]
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
        columns = cast(tuple[bytes, ...], row[5:-1])
        cost = len(row[0]) + sum(map(len, columns)) + ROW_OVERHEAD
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
"""A read row: `(path, part, start, offsets, *value columns as in NEEDS[aggregate])`, then
`WRITTEN` for a read of last points."""

Columns = dict[str, npt.NDArray[Any]]
"""Windows' columns by name: `counts`, `sums`, `mins`, `maxs` and `lasts` as floats;
`last_times` (absolute, `NO_TIME` where unknown) and `written` (each window's row's write
time) as ints."""


def series(
    path: str, blocks: list[Block], start: int, end: int, precision: int, aggregate: Aggregate
) -> Series:
    """`aggregate` of the windows in a path's read rows with `start <= time < end`.

    Sorting the rows by partition, block and first window puts the windows in time order
    unless a window was written in parts; only then are they sorted and folded."""
    blocks.sort(key=_block_key)
    names = NEEDS[aggregate]
    rows = list(zip(*blocks, strict=True))
    written = rows[4 + len(names)] if aggregate == Aggregate.LAST else None
    times, columns = decoded(rows[2], rows[3], rows[4:], names, precision, written)
    if len(times) > 1 and not (times[1:] > times[:-1]).all():
        times, columns = folded(times, columns)
    low, high = np.searchsorted(times, (start, end)).tolist()
    found = {name: column[low:high] for name, column in columns.items()}
    missing = np.full(high - low, np.nan)
    windows = Windows(
        times=times[low:high],
        counts=found.get("counts", missing),
        sums=found.get("sums", missing),
        mins=found.get("mins", missing),
        maxs=found.get("maxs", missing),
        lasts=found.get("lasts"),
    )
    return windows.series(path, start, end, precision, aggregate)


def decoded(
    starts: Sequence[int],
    offsets: Sequence[bytes],
    values: Sequence[Sequence[Any]],
    names: Sequence[str],
    precision: int,
    written: Sequence[int] | None = None,
) -> tuple[IntArray, Columns]:
    """The windows of rows, given column by column (each row's block start, its offsets
    and its value columns `names`), with each window's row's write time if `written`:
    their times, in row order, and their columns."""
    lengths = list(map(len, offsets))
    times = np.repeat(np.array(starts, dtype=np.int64), lengths)
    times += np.frombuffer(b"".join(offsets), dtype=np.uint8).astype(np.int64) * precision
    columns: Columns = {}
    for name, column in zip(names, values, strict=False):
        if name == "counts":
            columns[name] = counted(lengths, column)
        elif name == "lasts":
            columns[name] = _lasts(lengths, column, columns["sums"])
        elif name == "last_offsets":
            columns["last_times"] = _last_times(lengths, column, times)
        else:
            columns[name] = np.frombuffer(b"".join(column), "<f8")
    if written is not None:
        columns["written"] = np.repeat(np.array(written, dtype=np.int64), lengths)
    return times, columns


def counted(lengths: Sequence[int], counts: Sequence[bytes]) -> FloatArray:
    """Each window's count, from rows of `lengths` windows whose `counts` hold one value
    a window, or one for all."""
    column = np.frombuffer(b"".join(counts), dtype="<f8")
    if len(column) == sum(lengths):
        return column
    held = np.fromiter(map(len, counts), dtype=np.int64, count=len(counts)) // 8
    windows = np.asarray(lengths, dtype=np.int64)
    return np.repeat(column, np.repeat(np.where(held == 1, windows, 1), held))


def _lasts(lengths: Sequence[int], lasts: Sequence[bytes | None], sums: FloatArray) -> FloatArray:
    """Each window's last point: its row's `lasts`, its sum where the row's windows hold
    one point each (`lasts` empty), NaN where the row has none (written before)."""
    parts = []
    first = 0
    for length, held in zip(lengths, lasts, strict=True):
        if held is None:
            parts.append(np.full(length, np.nan))
        elif not held:
            parts.append(sums[first : first + length])
        else:
            parts.append(np.frombuffer(held, "<f8"))
        first += length
    return np.concatenate(parts) if parts else np.empty(0)


def _last_times(
    lengths: Sequence[int], last_offsets: Sequence[bytes | None], times: IntArray
) -> IntArray:
    """Each window's last point's time, from its row's `last_offsets` (one a window, or
    one for all; none in a row written before); `NO_TIME` where unknown."""
    parts = []
    for length, held in zip(lengths, last_offsets, strict=True):
        if held is None:
            parts.append(np.full(length, UNKNOWN_OFFSET, dtype="<i4"))
        elif len(held) == 4 and length != 1:
            parts.append(np.repeat(np.frombuffer(held, "<i4"), length))
        else:
            parts.append(np.frombuffer(held, "<i4"))
    offsets = np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)
    last_times: IntArray = np.where(offsets == UNKNOWN_OFFSET, NO_TIME, times + offsets)
    return last_times


def _block_key(block: Block) -> tuple[int, int, int]:
    return block[1], block[2], block[3][0]


_FOLD = {"counts": np.add, "sums": np.add, "mins": np.minimum, "maxs": np.maximum}


def folded(times: IntArray, columns: Columns) -> tuple[IntArray, Columns]:
    """Windows sorted by time, each time's parts merged into one window: counts and sums
    added, min and max combined, and the last point of the latest time kept, the one
    written later on a tie (by `written` when the columns have it)."""
    order = np.argsort(times, kind="stable")
    times = times[order]
    heads = np.flatnonzero(np.append(True, times[1:] != times[:-1]))
    merged = {
        name: _FOLD[name].reduceat(column[order], heads)
        for name, column in columns.items()
        if name in _FOLD
    }
    if "last_times" in columns:
        written = columns.get("written")
        last_times = columns["last_times"][order]
        latest = latest_of_groups(heads, last_times, None if written is None else written[order])
        merged["last_times"] = last_times[latest]
        if "lasts" in columns:
            merged["lasts"] = columns["lasts"][order][latest]
        if written is not None:
            merged["written"] = written[order][latest]
    return times[heads], merged
