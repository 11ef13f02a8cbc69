"""A write's windows grouped by path id for `recent`: each path's records come back whole,
and compaction turns the groups of several writes into the same blocks."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cyanite_py.model import SnapshotBatch
from cyanite_py.store.blocks import block_rows, unpack
from cyanite_py.store.sqlite.groups import GROUP_PATHS, Group, gathered, merged_records, pack_groups
from tests.builders import Snapshot, batch_of

PATH_IDS = st.sampled_from([1, 2, GROUP_PATHS - 1, GROUP_PATHS, 5 * GROUP_PATHS + 3])
WINDOWS = st.lists(
    st.tuples(PATH_IDS, st.sampled_from([10, 60]), st.integers(0, 300), st.floats(-1e6, 1e6)),
    max_size=120,
)


def windows_batch(
    windows: list[tuple[int, int, int, float]],
) -> tuple[SnapshotBatch, list[int]]:
    snapshots = [
        Snapshot(f"p{path_id}", precision, precision * 100, step * precision, 1, v, v, v)
        for path_id, precision, step, v in windows
    ]
    return batch_of(snapshots), [path_id for path_id, *_ in windows]


def test_a_read_gathers_each_paths_records_from_several_writes_in_time_order() -> None:
    first, first_ids = windows_batch([(1, 10, 3, 3.0), (2, 10, 1, 2.0), (1, 10, 1, 1.0)])
    second, second_ids = windows_batch([(1, 60, 2, 4.0), (1, 10, 2, 5.0), (1, 10, 3, 6.0)])
    blobs = [
        blob
        for batch, ids in ((first, first_ids), (second, second_ids))
        for _, blob in pack_groups(batch, ids)
    ]
    assert len(blobs) == 2
    found = gathered(blobs, np.array([1]), 10)
    assert found.keys() == {1}
    assert found[1]["time"].tolist() == [10, 20, 30, 30]
    assert found[1]["sum"].tolist() == [1.0, 5.0, 3.0, 6.0]
    assert gathered(blobs, np.array([2]), 60) == {}


@settings(max_examples=60, deadline=None)
@given(st.lists(WINDOWS, min_size=1, max_size=4))
def test_groups_of_several_writes_compact_to_the_same_windows(
    writes: list[list[tuple[int, int, int, float]]],
) -> None:
    expected: dict[tuple[int, int], dict[int, float]] = defaultdict(lambda: defaultdict(float))
    decoded = []
    for windows in writes:
        for path_id, precision, step, v in windows:
            expected[(path_id, precision)][step * precision] += v
        batch, ids = windows_batch(windows)
        for group, blob in pack_groups(batch, ids):
            decoded.append(Group.decode(blob))
            assert set(decoded[-1].entries["path_id"] // GROUP_PATHS) == {group}
    blocks: dict[tuple[int, int], list[memoryview]] = defaultdict(list)
    if decoded:
        for path_id, precision, _, _, data in block_rows(*merged_records(decoded)):
            blocks[(path_id, precision)].append(data)
    assert blocks.keys() == expected.keys()
    for key, datas in blocks.items():
        found = unpack(datas, 0, 10**9)
        assert found.times.tolist() == sorted(expected[key])
        assert found.sums.tolist() == [expected[key][t] for t in sorted(expected[key])]
