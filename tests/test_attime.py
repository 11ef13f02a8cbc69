"""graphite-web's time formats, against times worked out by hand."""

from __future__ import annotations

from datetime import datetime

import pytest

from cyanite_py.api.attime import parse_interval, parse_offset, parse_time, timezone

# Wednesday 2024-03-13 15:45:30 UTC
NOW = int(datetime(2024, 3, 13, 15, 45, 30, tzinfo=timezone(None)).timestamp())
MIDNIGHT = NOW - (15 * 3600 + 45 * 60 + 30)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("1700000000", 1700000000),
        ("-30s", NOW - 30),
        ("-30sec", NOW - 30),
        ("-5min", NOW - 300),
        ("-15minutes", NOW - 900),
        ("-2h", NOW - 7200),
        ("-6hours", NOW - 6 * 3600),
        ("-1d", NOW - 86400),
        ("-7days", NOW - 7 * 86400),
        ("-1w", NOW - 7 * 86400),
        ("-1mon", NOW - 30 * 86400),
        ("-1y", NOW - 365 * 86400),
        ("-1h30min", NOW - 5400),
        ("now-1h", NOW - 3600),
        ("now+1h", NOW + 3600),
        ("midnight", MIDNIGHT),
        ("today", MIDNIGHT),
        ("noon", MIDNIGHT + 12 * 3600),
        ("teatime", MIDNIGHT + 16 * 3600),
        ("yesterday", MIDNIGHT - 86400),
        ("tomorrow", MIDNIGHT + 86400),
        ("noon+yesterday", MIDNIGHT - 12 * 3600),
        ("noon yesterday", MIDNIGHT - 12 * 3600),
        ("midnight-1d", MIDNIGHT - 86400),
        ("3pm", MIDNIGHT + 15 * 3600),
        ("8:30am", MIDNIGHT + 8 * 3600 + 1800),
        ("20240101", int(datetime(2024, 1, 1, tzinfo=timezone(None)).timestamp())),
        ("04:00_20110501", int(datetime(2011, 5, 1, 4, tzinfo=timezone(None)).timestamp())),
        ("16:00_20110501", int(datetime(2011, 5, 1, 16, tzinfo=timezone(None)).timestamp())),
        ("12/31/23", int(datetime(2023, 12, 31, tzinfo=timezone(None)).timestamp())),
        ("jan5", int(datetime(2024, 1, 5, tzinfo=timezone(None)).timestamp())),
        ("monday", MIDNIGHT - 2 * 86400),
        ("wednesday", MIDNIGHT),
        ("thursday", MIDNIGHT - 6 * 86400),
    ],
)
def test_parse_time(text: str, expected: int) -> None:
    assert parse_time(text, NOW) == expected


def test_time_zone_moves_day_references() -> None:
    paris = timezone("Europe/Paris")  # UTC+1 in March before the change
    assert parse_time("midnight", NOW, paris) == MIDNIGHT - 3600
    assert parse_time("-1h", NOW, paris) == NOW - 3600


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-5m", "time unit 'm'"),
        ("-1x", "time unit 'x'"),
        ("", "empty time"),
        ("yesterdayish", "unknown day reference"),
        ("25:00_20240101", "expected HH:MM_YYYYMMDD"),
        ("-", "time offset '-'"),
        ("now-h", "time offset '-h'"),
        ("2pm+1q", "time unit 'q'"),
    ],
)
def test_bad_times_are_value_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_time(text, NOW)


def test_bare_m_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="'m'"):
        parse_time("-5m", NOW)


def test_unknown_zone() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        timezone("Mars/Olympus")


def test_offsets_and_intervals() -> None:
    assert parse_offset("1d") == 86400
    assert parse_offset("-1d") == -86400
    assert parse_offset("+2h") == 7200
    assert parse_interval("-7d") == 7 * 86400
    assert parse_interval("5min") == 300
    with pytest.raises(ValueError, match="interval '0s' is empty"):
        parse_interval("0s")
    with pytest.raises(ValueError, match="time unit '' in '5'"):
        parse_offset("5")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1" + "0" * 25, "out of range"),
        ("1/1/99999999999999999999", "invalid time '1/1/9"),
        ("-1000000000y", "longer than"),
        ("now+999999999999999d", "longer than"),
    ],
)
def test_times_beyond_the_calendar_are_value_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_time(text, NOW)


def test_a_long_zone_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        timezone("Europe/" + "x" * 5000)
