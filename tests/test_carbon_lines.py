"""Carbon's plaintext grammar: good lines survive bad ones, each rejection has a reason."""

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cyanite_py.carbon.lines import parse_chunk

NOW = 1_700_000_000


def parse(chunk: bytes, limit: int = 200) -> tuple[list[tuple[str, float, int]], Counter[str]]:
    rejected: Counter[str] = Counter()

    def reject(reason: str, count: int) -> None:
        rejected[reason] += count

    batch = parse_chunk(chunk, NOW, limit, reject)
    return list(zip(batch.paths, batch.values, batch.times, strict=True)), rejected


def test_whitespace_and_line_endings_as_carbon_accepts() -> None:
    points, rejected = parse(b"a.b 1 100\r\nc\t2.5\t200\n\n   d  3   300  \n")
    assert points == [("a.b", 1.0, 100), ("c", 2.5, 200), ("d", 3.0, 300)]
    assert not rejected


def test_minus_one_means_now_and_fractions_truncate() -> None:
    points, _ = parse(b"a 1 -1\nb 2 100.9\n")
    assert points == [("a", 1.0, NOW), ("b", 2.0, 100)]


def test_nan_is_dropped_and_counted() -> None:
    points, rejected = parse(b"a nan 100\nb 1 100\nc NaN 100\n")
    assert points == [("b", 1.0, 100)]
    assert rejected == {"nan": 2}


def test_each_bad_line_is_counted_by_reason_and_the_rest_flows() -> None:
    chunk = b"\n".join(
        [
            b"good.one 1 100",
            b"two fields",
            b"four fields here now",
            b"bad.value abc 100",
            b"bad.time 1 yesterday",
            b"bad.enc\xff\xfe 1 100",
            b"x" * 300 + b" 1 100",
            b"good.two 2 200",
        ]
    )
    points, rejected = parse(chunk)
    assert points == [("good.one", 1.0, 100), ("good.two", 2.0, 200)]
    assert rejected == {
        "fields": 2,
        "value": 1,
        "timestamp": 1,
        "encoding": 1,
        "too_long": 1,
    }


def test_negative_timestamps_other_than_minus_one_are_rejected() -> None:
    points, rejected = parse(b"a 1 -5\nb 1 5\n")
    assert points == [("b", 1.0, 5)]
    assert rejected == {"timestamp": 1}


def test_timestamps_beyond_int64_are_rejected_not_overflowed() -> None:
    points, rejected = parse(b"a 1 99999999999999999999\nb 1 1e300\nc 1 5\n")
    assert points == [("c", 1.0, 5)]
    assert rejected == {"timestamp": 2}


def test_infinite_values_are_kept() -> None:
    points, _ = parse(b"a inf 1\nb -inf 2\n")
    assert points == [("a", float("inf"), 1), ("b", float("-inf"), 2)]


@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(chunk: bytes) -> None:
    points, _ = parse(chunk)
    for path, _, timestamp in points:
        assert path
        assert not any(c.isspace() for c in path)
        assert timestamp >= 0


@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[a-z][a-z0-9_.-]{0,20}", fullmatch=True),
            st.floats(allow_nan=False, width=64),
            st.integers(min_value=0, max_value=2**33),
        ),
        max_size=50,
    )
)
def test_well_formed_lines_round_trip(rows: list[tuple[str, float, int]]) -> None:
    chunk = b"".join(f"{p} {v!r} {t}\n".encode() for p, v, t in rows)
    points, rejected = parse(chunk, limit=10_000)
    assert points == rows
    assert not rejected


def test_unusual_whitespace_inside_a_path_is_never_accepted() -> None:
    points, rejected = parse("a\x0bb 1 1\nc\u2028d 2 2\ngood 3 3\n".encode())
    assert points == [("good", 3.0, 3)]
    assert rejected == {"fields": 2}


@pytest.mark.parametrize(
    "space", [c for c in map(chr, range(128)) if c.isspace() and c not in " \n"]
)
def test_every_other_ascii_whitespace_inside_a_path_of_an_ascii_chunk_is_caught(
    space: str,
) -> None:
    points, rejected = parse(f"ok 1 1\nbad{space}path 2 2\ngood 3 3\n".encode())
    assert points == [("ok", 1.0, 1), ("good", 3.0, 3)]
    assert rejected == {"fields": 1}


def test_blank_lines_and_a_missing_final_newline_in_canonical_chunks() -> None:
    points, rejected = parse(b"a 1 1\n\nb 2 2")
    assert points == [("a", 1.0, 1), ("b", 2.0, 2)]
    assert not rejected
