"""Snapshot batches name paths by keys into a table: joining and splitting keep each
snapshot's path, whether the batches share a table (the engine's) or not."""

from __future__ import annotations

import numpy as np

from cyanite_py.model import COLUMNS, PathTable, SnapshotBatch
from tests.builders import Snapshot, batch_of, rows_of


def window(path: str, time: int) -> Snapshot:
    return Snapshot(path, 10, 3600, time, 1, float(time), float(time), float(time))


def keyed(table: PathTable, keys: list[int], time: int) -> SnapshotBatch:
    """Windows at `time` of `table`'s paths at `keys`, as the engine emits them."""
    loose = batch_of(window(table.names[key], time) for key in keys)
    columns = (getattr(loose, name) for name in COLUMNS)
    return SnapshotBatch(table, np.array(keys, dtype=np.int64), *columns)


def test_batches_of_one_table_join_without_looking_at_names() -> None:
    table = PathTable(["a", "b"])
    first = keyed(table, [0, 1], 10)
    table.names.append("c")
    joined = SnapshotBatch.joined([first, keyed(table, [2, 0], 20)])
    assert joined.table is table
    assert joined.keys.tolist() == [0, 1, 2, 0]
    assert [(row.path, row.time) for row in rows_of(joined)] == [
        ("a", 10),
        ("b", 10),
        ("c", 20),
        ("a", 20),
    ]


def test_batches_of_different_tables_join_under_one_new_table() -> None:
    first = batch_of([window("a", 10), window("b", 10)], new_paths=["a", "b"])
    second = batch_of([window("b", 20), window("c", 20)], new_paths=["c"])
    joined = SnapshotBatch.joined([first, second])
    assert list(rows_of(joined)) == [*rows_of(first), *rows_of(second)]
    assert joined.table.names == ["a", "b", "c"]
    assert joined.new_paths == ["a", "b", "c"]


def test_a_split_keeps_the_table_and_gives_the_new_paths_to_the_head() -> None:
    table = PathTable(["a", "b", "c"])
    whole = keyed(table, [2, 1, 0], 10)
    whole.new_paths = ["a"]
    head, rest = whole.split(1)
    assert (head.table, rest.table) == (table, table)
    assert [row.path for row in rows_of(head)] == ["c"]
    assert [row.path for row in rows_of(rest)] == ["b", "a"]
    assert (head.new_paths, rest.new_paths) == (["a"], [])
