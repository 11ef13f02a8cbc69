"""One write's windows as rows of SQLite's `recent` table: a row per group of path ids.

A row per (path, precision, block) costs SQLite a key and a record each, and a write
touches every path that closed a window: a row per path per write. A row per
`GROUP_PATHS` consecutive path ids cuts that 64-fold, and a read of one path unpacks one
small row per write.

A group's blob holds the number of entries (int64), the entries (one per path and
precision: `ENTRY`), then each entry's records (`blocks.RECORD`, in time order), entry
after entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from cyanite_py.model import IntArray, SnapshotBatch
from cyanite_py.store.blocks import RECORD, sorted_records

GROUP_PATHS = 64

ENTRY = np.dtype([("path_id", "<i8"), ("precision", "<i8"), ("period", "<i8"), ("records", "<i8")])

COUNT_BYTES = 8

GroupRow = tuple[int, bytes]
"""`(group, blob)`: the group is `path_id // GROUP_PATHS`."""


def pack_groups(batch: SnapshotBatch, path_ids: Sequence[int] | IntArray) -> list[GroupRow]:
    """The batch as one blob per group of path ids, in group order."""
    if not len(batch):
        return []
    ids, precisions, periods, records = sorted_records(batch, path_ids)
    change = np.ones(len(ids), dtype=bool)
    change[1:] = (ids[1:] != ids[:-1]) | (precisions[1:] != precisions[:-1])
    heads = np.flatnonzero(change)
    entries = np.empty(len(heads), dtype=ENTRY)
    entries["path_id"] = ids[heads]
    entries["precision"] = precisions[heads]
    entries["period"] = periods[heads]
    entries["records"] = np.diff(np.append(heads, len(ids)))
    groups = entries["path_id"] // GROUP_PATHS
    group_heads = np.flatnonzero(np.append(True, groups[1:] != groups[:-1]))
    entry_bounds = np.append(group_heads, len(heads))
    record_bounds = np.append(heads, len(ids))[entry_bounds]
    entry_bytes = entries.view(np.uint8).data
    record_bytes = records.view(np.uint8).data
    return [
        (
            group,
            b"".join(
                (
                    (last - first).to_bytes(COUNT_BYTES, "little"),
                    entry_bytes[first * ENTRY.itemsize : last * ENTRY.itemsize],
                    record_bytes[start * RECORD.itemsize : end * RECORD.itemsize],
                )
            ),
        )
        for group, first, last, start, end in zip(
            groups[group_heads].tolist(),
            entry_bounds[:-1].tolist(),
            entry_bounds[1:].tolist(),
            record_bounds[:-1].tolist(),
            record_bounds[1:].tolist(),
            strict=True,
        )
    ]


@dataclass(frozen=True, slots=True)
class Group:
    """A group's blob read back: its entries, and each entry's records from
    `records[offsets[i]:offsets[i + 1]]`."""

    entries: np.ndarray
    records: np.ndarray
    offsets: IntArray

    @classmethod
    def decode(cls, blob: bytes) -> Group:
        count = int.from_bytes(blob[:COUNT_BYTES], "little")
        entries = np.frombuffer(blob, dtype=ENTRY, count=count, offset=COUNT_BYTES)
        records = np.frombuffer(blob, dtype=RECORD, offset=COUNT_BYTES + entries.nbytes)
        offsets = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(entries["records"], out=offsets[1:])
        return cls(entries, records, offsets)

    def take(self, path_ids: IntArray, precision: int) -> tuple[IntArray, np.ndarray]:
        """The records of `path_ids` (sorted) at `precision`, and each record's path id."""
        entries = self.entries
        ids = entries["path_id"]
        found = np.searchsorted(path_ids, ids).clip(max=len(path_ids) - 1)
        hits = (path_ids[found] == ids) & (entries["precision"] == precision)
        counts = entries["records"][hits]
        firsts = self.offsets[:-1][hits]
        rows = np.arange(int(counts.sum())) + np.repeat(
            firsts - (np.cumsum(counts) - counts), counts
        )
        return np.repeat(ids[hits], counts), self.records[rows]


def gathered(blobs: Iterable[bytes], path_ids: IntArray, precision: int) -> dict[int, np.ndarray]:
    """Each of `path_ids`' (sorted) records at `precision` in the groups `blobs`, by path id,
    in time order, where records of one time keep the order of `blobs`: a read takes each
    path's windows from many writes without a Python object per write."""
    taken = [Group.decode(blob).take(path_ids, precision) for blob in blobs]
    ids = np.concatenate([ids for ids, _ in taken]) if taken else np.empty(0, np.int64)
    if not len(ids):
        return {}
    records = np.concatenate([records for _, records in taken])
    order = np.lexsort((records["time"], ids))
    ids, records = ids[order], records[order]
    heads = np.flatnonzero(np.append(True, ids[1:] != ids[:-1]))
    return dict(zip(ids[heads].tolist(), np.split(records, heads[1:]), strict=True))


def merged_records(groups: Sequence[Group]) -> tuple[IntArray, IntArray, IntArray, np.ndarray]:
    """Path ids, precisions, periods and records of every entry of `groups`, sorted by
    path id, precision and time; records of one time keep the order of `groups`."""
    entries = np.concatenate([group.entries for group in groups])
    records = np.concatenate([group.records for group in groups])
    counts = entries["records"]
    ids = np.repeat(entries["path_id"], counts)
    precisions = np.repeat(entries["precision"], counts)
    periods = np.repeat(entries["period"], counts)
    order = np.lexsort((records["time"], precisions, ids))
    return ids[order], precisions[order], periods[order], records[order]
