"""A parse worker's numbering of paths: keys in the order first seen, stable, and exact
even where two paths' hashes agree."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cyanite_py.carbon.numbering import Numbering


class Colliding(str):
    """A path whose hash is the same as every other's, as two paths' hashes may be."""

    def __hash__(self) -> int:
        return 42


def reference(batches: list[list[str]]) -> list[tuple[list[int], list[str]]]:
    """What a plain dictionary numbering answers for each batch."""
    known: dict[str, int] = {}
    answers = []
    for paths in batches:
        new = [path for path in dict.fromkeys(paths) if path not in known]
        known.update({path: len(known) + i for i, path in enumerate(new)})
        answers.append(([known[path] for path in paths], new))
    return answers


def numbered(batches: list[list[str]], hot: int = 0) -> list[tuple[list[int], list[str]]]:
    """The answers of a numbering that packs every path after the first `hot`."""
    numbering = Numbering(hot)
    answers = []
    for paths in batches:
        keys, new = numbering.keys(paths)
        answers.append((keys.tolist(), new))
    return answers


@pytest.mark.parametrize("hot", [0, 2, 1000])
def test_keys_follow_first_sight_and_stay(hot: int) -> None:
    numbering = Numbering(hot)
    keys, new = numbering.keys(["a.b", "c.d", "a.b"])
    assert keys.tolist() == [0, 1, 0]
    assert new == ["a.b", "c.d"]
    keys, new = numbering.keys(["c.d", "e.f", "a.b", "e.f"])
    assert keys.tolist() == [1, 2, 0, 2]
    assert new == ["e.f"]
    keys, new = numbering.keys(["e.f"])
    assert (keys.tolist(), new) == ([2], [])
    assert len(numbering) == 3


@pytest.mark.parametrize("hot", [0, 1000])
def test_an_empty_batch(hot: int) -> None:
    numbering = Numbering(hot)
    assert numbering.keys([])[0].tolist() == []
    numbering.keys(["a"])
    keys, new = numbering.keys([])
    assert (keys.tolist(), new) == ([], [])


def test_paths_whose_hashes_agree_keep_their_own_keys() -> None:
    batches: list[list[str]] = [
        [Colliding("x.one"), Colliding("x.two")],
        [Colliding("x.two"), Colliding("x.three"), Colliding("x.one")],
        [Colliding(f"x.{i}") for i in range(300)],
    ]
    assert numbered(batches) == reference(batches)


@pytest.mark.parametrize("hot", [0, 12_345])
def test_many_paths_through_every_growth_of_the_table(hot: int) -> None:
    paths = [
        f"dc{d}.host{h:03d}.metric{m:02d}" for d in range(3) for h in range(300) for m in range(50)
    ]
    batches = [paths[i : i + 5_000] for i in range(0, len(paths), 5_000)]
    batches.append(paths[::7])  # all known, out of order
    batches.append([*paths[-10:], "brand.new", *paths[:10]])
    assert numbered(batches, hot) == reference(batches)


def test_paths_of_any_length_and_script() -> None:
    batches = [
        ["caf\u00e9.latte", "\u65e5\u672c.\u8a9e", "emoji.\U0001f600", "", "x" * 5000],
        ["x" * 5000, "caf\u00e9.latte", "cafe.latte", "emoji.\U0001f601", ""],
    ]
    assert numbered(batches) == reference(batches)


def test_a_batch_that_fills_the_dict_packs_the_rest_in_order() -> None:
    batches = [["a", "b", "a", "c", "d", "b"], ["e", "a", "d", "f"], ["c", "f", "g"]]
    assert numbered(batches, hot=3) == reference(batches)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.text(max_size=6), max_size=40), max_size=8),
    st.integers(min_value=0, max_value=30),
)
def test_agrees_with_a_dictionary(batches: list[list[str]], hot: int) -> None:
    assert numbered(batches, hot) == reference(batches)
