"""Arrow's column-wise read of plain chunks must agree exactly with the general parser."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cyanite_py.carbon.frames import RESULT_HEADER, ResultHeader
from cyanite_py.carbon.lines import parse_chunk
from cyanite_py.carbon.numbering import Numbering
from cyanite_py.carbon.plain import MIN_CHUNK_BYTES, PlainColumns, read_plain
from cyanite_py.carbon.worker import parse_frame
from cyanite_py.model import PointBatch

MAX_LINE = 200


def filler(lines: int = 0) -> bytes:
    """Plain lines, at least `MIN_CHUNK_BYTES` of them unless `lines` says how many."""
    count = lines or MIN_CHUNK_BYTES // 20
    return b"".join(b"fill.%d %d.25 %d\n" % (i % 50, i, 1_700_000_000 + i) for i in range(count))


def general(chunk: bytes) -> tuple[PointBatch, list[str]]:
    rejected: list[str] = []
    batch = parse_chunk(chunk, 1_800_000_000, MAX_LINE, lambda reason, n: rejected.append(reason))
    return batch, rejected


def expanded(columns: PlainColumns) -> tuple[list[str], np.ndarray, np.ndarray]:
    return (
        [columns.paths[i] for i in columns.path_index],
        np.asarray(columns.values),
        np.asarray(columns.times),
    )


def same_floats(left: object, right: object) -> bool:
    """Equal bit for bit, so 0.0 and -0.0 differ."""
    return np.array_equal(
        np.asarray(left, dtype=np.float64).view(np.int64),
        np.asarray(right, dtype=np.float64).view(np.int64),
    )


def test_a_large_plain_chunk_is_read_column_wise_with_each_path_once() -> None:
    chunk = filler()
    columns = read_plain(chunk, MAX_LINE)
    assert columns is not None
    assert sorted(columns.paths) == sorted({f"fill.{i}" for i in range(50)})
    assert_agrees_when_plain(b"")


def test_crlf_line_ends_and_a_last_line_without_one_are_plain() -> None:
    chunk = filler().replace(b"\n", b"\r\n") + b"last 7 1700000000"
    columns = read_plain(chunk, MAX_LINE)
    assert columns is not None
    assert expanded(columns)[0][-1] == "last"
    assert expanded(columns)[2][-1] == 1_700_000_000


def test_small_chunks_are_left_to_the_general_parser() -> None:
    assert read_plain(filler(lines=100), MAX_LINE) is None


def test_lines_the_general_parser_rejects_or_rewrites_send_the_chunk_there() -> None:
    for odd in (
        b"a nan 1\n",  # dropped and counted
        b"a 1 -1\n",  # means now
        b"a 1 -5\n",  # rejected
        b"a\t1 1\n",  # other whitespace
        b"a 1 1\rb 2 2\n",  # a carriage return inside a line
        b" a 1 1\n",  # an empty path
        b"a 1 0x10\n",  # not a timestamp to the general parser
        b"a 1 99999999999999999999\n",  # not exact as a float
        b"a 1 2 3\n",  # four fields
        "\u00e9 1 1\n".encode(),  # not ASCII
        b"a " + b"1" * MAX_LINE + b" 1\n",  # too long
    ):
        assert read_plain(filler() + odd, MAX_LINE) is None, odd


def test_the_worker_still_counts_rejects_in_a_large_chunk() -> None:
    chunk = filler() + b"a nan 1\nb 1 -5\n"
    frame = parse_frame(chunk, Numbering(), MAX_LINE)
    result = ResultHeader.decode(frame[: RESULT_HEADER.size])
    assert result.points == MIN_CHUNK_BYTES // 20
    assert sum(result.rejected.values()) == 2


def test_the_worker_rejects_a_timestamp_beyond_int64_instead_of_failing() -> None:
    frame = parse_frame(b"a 1 99999999999999999999\nb 1 5\n", Numbering(), MAX_LINE)
    result = ResultHeader.decode(frame[: RESULT_HEADER.size])
    assert (result.points, result.names_size, sum(result.rejected.values())) == (1, 1, 1)


ODD_NUMBERS = st.sampled_from(
    [
        *("1", "-1", "+1", "0", "-0", "1.5", ".5", "5.", "1e5", "1E-5", "1e", "e5", "1_0"),
        *("0x10", "inf", "-Infinity", "nan", "NaN", "1e400", "1.5f", "-", "+.5", "", "1.7e9"),
        *("9007199254740993", "99999999999999999999", "\u0663"),
    ]
)
PATHS = st.one_of(
    st.text(alphabet="abc.-_", min_size=1, max_size=6),
    st.sampled_from(["", "é", "a\tb", "a\x00", "#c", '"q"', "a\rb", "a b"]),
)
VALUES = st.one_of(st.floats(allow_nan=False).map(repr), ODD_NUMBERS)
TIMES = st.one_of(
    st.integers(0, 2**40).map(str), st.integers(-(2**64), 2**64).map(str), ODD_NUMBERS
)


@st.composite
def odd_lines(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        fields = [draw(PATHS), draw(VALUES), draw(TIMES)][: draw(st.sampled_from([3] * 8 + [1, 2]))]
        spacing = draw(st.sampled_from([" "] * 8 + ["  ", "\t"]))
        end = draw(st.sampled_from(["\n"] * 6 + ["\r\n"] * 3 + ["\r"]))
        lines.append(spacing.join(fields) + end)
    return "".join(lines).encode()


def assert_agrees_when_plain(odd: bytes) -> None:
    chunk = filler() + odd
    columns = read_plain(chunk, MAX_LINE)
    if columns is None:
        return
    batch, rejected = general(chunk)
    paths, values, times = expanded(columns)
    assert rejected == []
    assert paths == batch.paths
    assert same_floats(values, batch.values)
    assert times.tolist() == batch.times


@settings(max_examples=300, deadline=None)
@given(VALUES, TIMES)
def test_arrow_reads_numbers_as_the_general_parser_does(value: str, time: str) -> None:
    assert_agrees_when_plain(f"a {value} {time}\n".encode())


@settings(max_examples=300, deadline=None)
@given(odd_lines())
def test_whenever_arrow_answers_it_agrees_with_the_general_parser(odd: bytes) -> None:
    assert_agrees_when_plain(odd)
