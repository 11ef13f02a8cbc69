"""Where windows go in the Cassandra store's `block` table, apart from the driver.

A row holds the records (`cyanite_py.store.blocks.RECORD`) of one path's windows in one
block of `BLOCK_WINDOWS` windows, as one write brought them: the packing the SQLite store
uses, so a replayed day of a 10 s series is 135 rows, not 8,640. Rows are keyed
`((path, precision, part), start, stamp)`:

- `part` bounds a partition to `PART_WINDOWS` windows of one path and resolution
  (22.75 h at 10 s, 5.7 days at 1 min), so no partition grows with retention;
- `start` is the block's first window, so a read of a time range takes only the blocks
  that overlap it;
- `stamp` names the write, so a window written again (a late point, a checkpoint of an
  open window, a replay, a second server) adds a row instead of replacing one, and a read
  folds the records of one time together (`blocks.unpack`): counts and sums added, min
  and max combined, with no read before the write.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from cyanite_py.model import SnapshotBatch
from cyanite_py.store.blocks import BLOCK_WINDOWS, block_rows, sorted_records

PART_BLOCKS = 128
PART_WINDOWS = PART_BLOCKS * BLOCK_WINDOWS
"""Windows one partition spans at most: 8,192, that is at most 320 KiB of records (plus
one more record per window rewritten before compaction merges nothing: rewrites add
rows)."""
MAX_TTL = 20 * 365 * 86400
"""Cassandra refuses a TTL above 20 years."""
BATCH_BYTES = 40 * 1024
"""Bytes of rows sent in one unlogged batch at most, below Cassandra's default 50 KiB
`batch_size_fail_threshold`."""


def part_start(time: int, precision: int) -> int:
    """The start of the partition holding the window that starts at `time`."""
    span = precision * PART_WINDOWS
    return time - time % span


RowValues = tuple[str, int, int, int, int, memoryview, int]
"""One `block` row in bind order: `(path, precision, part, start, stamp, data, ttl)`."""
ROW_OVERHEAD = 48
"""Bytes a row's key, stamp and TTL add to its path and records, counted against
`BATCH_BYTES`."""


def write_rows(batch: SnapshotBatch, stamp: int) -> list[RowValues]:
    """The batch's rows under `stamp`, one per path, precision and block, in key order
    (so rows of one partition are neighbours)."""
    ids, precisions, periods, records = sorted_records(batch, batch.keys)
    names = batch.table.names
    return [
        (names[path_id], precision, part_start(start, precision), start, stamp, data, ttl)
        for path_id, precision, start, period, data in block_rows(ids, precisions, periods, records)
        for ttl in (min(period, MAX_TTL),)
    ]


def requests(rows: Iterable[RowValues], max_rows: int) -> Iterator[list[RowValues]]:
    """`rows` cut, in order, into runs of at most `max_rows` rows and `BATCH_BYTES`: each run
    is one unlogged batch, so the cost per request is shared by many rows."""
    run: list[RowValues] = []
    size = 0
    for row in rows:
        cost = len(row[0]) + len(row[5]) + ROW_OVERHEAD
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
