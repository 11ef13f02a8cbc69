"""Keys found by hash: every key with a hash is offered, in the order its probe meets it,
through every growth of the table and whichever way a lookup is walked."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cyanite_py.keytable import EMPTY, FEW, KeyTable, NameIndex


class Colliding(str):
    """A name whose hash is the same as every other's, as two names' hashes may be."""

    def __hash__(self) -> int:
        return 42


def table_of(hashes: list[int]) -> KeyTable:
    table = KeyTable()
    for first in range(0, len(hashes), 1000):
        table.add(np.array(hashes[first : first + 1000], np.int64))
    return table


def test_each_hash_finds_its_key_and_others_find_none() -> None:
    rng = np.random.default_rng(7)
    hashes = rng.integers(-(2**63), 2**63 - 1, 50_000, dtype=np.int64)
    table = table_of(hashes.tolist())
    assert len(table) == 50_000
    assert table.first_keys(hashes).tolist() == list(range(50_000))
    few = hashes[[3, 49_999]]
    assert table.first_keys(few).tolist() == [3, 49_999]
    absent = rng.integers(-(2**63), 2**63 - 1, 10_000, dtype=np.int64)
    absent = absent[~np.isin(absent, hashes)]
    assert (table.first_keys(absent) == EMPTY).all()


def test_keys_sharing_a_hash_are_all_offered_in_order() -> None:
    hashes = [5, 9, 5, 5, 4096 + 5, 9]  # 4096 + 5 shares the first probe slot of 5
    table = table_of(hashes)
    assert list(table.keys_of(5)) == [0, 2, 3]
    assert list(table.keys_of(9)) == [1, 5]
    assert list(table.keys_of(4096 + 5)) == [4]
    assert list(table.keys_of(6)) == []
    many = np.array([5, 9, 4096 + 5, 6] * (FEW + 1), np.int64)
    assert table.first_keys(many).tolist() == [0, 1, 4, EMPTY] * (FEW + 1)


def test_an_empty_table_has_no_keys() -> None:
    table = KeyTable()
    assert table.first_keys(np.array([1, 2], np.int64)).tolist() == [EMPTY, EMPTY]
    assert list(table.keys_of(1)) == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=-20, max_value=20), max_size=300))
def test_agrees_with_a_list_of_hashes(hashes: list[int]) -> None:
    table = table_of(hashes)
    for value in set(hashes) | {99}:
        assert sorted(table.keys_of(value)) == [k for k, h in enumerate(hashes) if h == value]
    lookups = [*hashes, 99]
    found = table.first_keys(np.array(lookups, np.int64)).tolist()
    for value, key in zip(lookups, found, strict=True):
        assert hashes[key] == value if value in hashes else key == EMPTY


def test_names_are_found_at_their_positions_even_where_hashes_agree() -> None:
    names: list[str] = [Colliding(f"same.{i}") for i in range(100)]
    names += [f"host{i}.cpu" for i in range(20_000)]
    held: list[str] = []
    index = NameIndex(held)
    index.extend(names[:70])
    index.extend(names[70:])
    assert held == names
    assert index.positions(names).tolist() == list(range(len(names)))
    assert index.positions(names[::-1][:FEW]).tolist() == list(range(len(names)))[::-1][:FEW]
    asked = [Colliding("same.100"), "host20000.cpu", "same.7", Colliding("same.7")]
    assert index.positions(asked).tolist() == [EMPTY, EMPTY, EMPTY, 7]
    assert index.position(Colliding("same.99")) == 99
    assert index.position("host5.cpu") == 105
    assert index.position("nothing") == EMPTY


def test_a_name_index_over_names_held_already() -> None:
    index = NameIndex(["a", "b"])
    index.extend(["c"])
    assert index.positions(["c", "a", "d", "b"]).tolist() == [2, 0, EMPTY, 1]
