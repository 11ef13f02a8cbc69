"""Packing windows into blocks and back: nothing lost, repeats merged, blocks aligned."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from cyanite_py.model import SnapshotBatch
from cyanite_py.store.blocks import (
    BLOCK_WINDOWS,
    RECORD,
    BlockRow,
    block_rows,
    sorted_records,
    unpack,
)
from tests.builders import Snapshot, batch_of


def pack(batch: SnapshotBatch, path_ids: list[int]) -> list[BlockRow]:
    return block_rows(*sorted_records(batch, path_ids))


def test_a_block_holds_one_paths_consecutive_windows_at_one_precision() -> None:
    span = 10 * BLOCK_WINDOWS
    rows = pack(
        batch_of(
            [
                Snapshot("a", 10, 3600, span + 20, 1, 1.0, 1.0, 1.0),
                Snapshot("a", 10, 3600, span, 1, 2.0, 2.0, 2.0),
                Snapshot("a", 10, 3600, 2 * span, 1, 3.0, 3.0, 3.0),
                Snapshot("a", 60, 86400, span, 1, 4.0, 4.0, 4.0),
                Snapshot("b", 10, 3600, span, 1, 5.0, 5.0, 5.0),
            ]
        ),
        [1, 1, 1, 1, 2],
    )
    assert [
        (path, precision, start, len(data) // RECORD.itemsize)
        for path, precision, start, _, data in rows
    ] == [
        (1, 10, span, 2),
        (1, 10, 2 * span, 1),
        (1, 60, 0, 1),
        (2, 10, span, 1),
    ]
    first = unpack([rows[0][4]], 0, 10**12)
    assert first.times.tolist() == [span, span + 20]
    assert first.sums.tolist() == [2.0, 1.0]


def test_the_same_window_written_twice_is_merged_on_read() -> None:
    once = pack(batch_of([Snapshot("a", 10, 3600, 100, 2, 6.0, 1.0, 5.0)]), [1])[0][4]
    again = pack(batch_of([Snapshot("a", 10, 3600, 100, 1, 9.0, 9.0, 9.0)]), [1])[0][4]
    merged = unpack([once, again], 0, 1000)
    assert merged.times.tolist() == [100]
    assert (merged.counts[0], merged.sums[0], merged.mins[0], merged.maxs[0]) == (3, 15.0, 1.0, 9.0)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2000), st.floats(-1e9, 1e9)), max_size=200)
)
def test_whatever_is_packed_unpacks_per_path_to_the_same_windows(
    points: list[tuple[int, int, float]],
) -> None:
    snapshots = [Snapshot(f"p{p}", 10, 3600, t * 10, 1, v, v, v) for p, t, v in points]
    rows = pack(batch_of(snapshots), [int(s.path[1:]) for s in snapshots])
    expected: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for p, t, v in points:
        expected[p][t * 10] += v
    blocks: dict[int, list[memoryview]] = defaultdict(list)
    for path_id, _, _, _, data in rows:
        blocks[path_id].append(data)
    assert blocks.keys() == expected.keys()
    for path_id, datas in blocks.items():
        windows = unpack(datas, 0, 10**9)
        assert windows.times.tolist() == sorted(expected[path_id])
        assert windows.sums.tolist() == [expected[path_id][t] for t in sorted(expected[path_id])]
