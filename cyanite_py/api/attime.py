"""Times and intervals as graphite-web reads them in `from`, `until` and function arguments.

A time is an epoch (`1700000000`), an absolute date (`HH:MM_YYYYMMDD`, `YYYYMMDD`,
`MM/DD/YY`, `jan3`), a reference (`now`, `midnight`, `noon`, `teatime`, `today`,
`yesterday`, `tomorrow`, a weekday, `3pm`) or a reference and an offset (`now-1h`,
`noon+yesterday`, `-6h`). Offsets use graphite's units, so `-5m` is an error there and here.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = ZoneInfo("UTC")

_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "week", "weeks"), 7 * 86400),
    **dict.fromkeys(("mon", "month", "months"), 30 * 86400),
    **dict.fromkeys(("y", "year", "years"), 365 * 86400),
}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_OF_DAY = {"noon": (12, 0), "midnight": (0, 0), "teatime": (16, 0)}
_OFFSET_PART = re.compile(r"(\d+)([a-z]*)")
MAX_OFFSET = 10**12
"""Seconds an offset or interval may span (about 31,700 years): more is a mistake."""
LATEST = 253_402_214_400
"""The last day of year 9999, the last that dates can show; later times are refused."""
MAX_ZONE_NAME = 255
_JOINING_PLUS = re.compile(r"\+(?=[a-z])")


def timezone(name: str | None) -> tzinfo:
    """The zone named like graphite's `tz` parameter (e.g. `Europe/Paris`); UTC when absent."""
    if not name:
        return UTC
    if len(name) > MAX_ZONE_NAME:
        raise ValueError(f"unknown time zone {name[:40]!r}… (longer than {MAX_ZONE_NAME})")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


def parse_time(text: str, now: int, tz: tzinfo = UTC) -> int:
    """Epoch seconds for a graphite time such as `-6h`, `now`, `noon+yesterday` or `20240101`.

    A time beyond year 9999, or further back than `MAX_OFFSET`, is a ValueError.
    """
    moment = _parse_time(text, now, tz)
    if not -MAX_OFFSET <= moment <= LATEST:
        raise ValueError(f"time {text[:40]!r} is out of range (up to year 9999)")
    return moment


def _parse_time(text: str, now: int, tz: tzinfo) -> int:
    s = text.strip().lower().replace("_", "").replace(",", "").replace(" ", "")
    s = _JOINING_PLUS.sub("", s)  # `noon+yesterday` is `noon yesterday` with its space encoded
    if not s:
        raise ValueError("empty time")
    if s.isdigit() and not _looks_like_date(s):
        return int(s)
    if ":" in s and len(s) == 13 and s[:2].isdigit():
        return _absolute(s, tz, text)
    for sign in "+-":
        if sign in s:
            reference, _, offset = s.partition(sign)
            return _reference(reference, now, tz, text) + parse_offset(sign + offset)
    return _reference(s, now, tz, text)


def parse_offset(text: str) -> int:
    """Signed seconds in an offset such as `-1h`, `+30min`, `1d12h` (no sign means forward)."""
    offset = text.strip().lower()
    if not offset:
        return 0
    sign = 1
    if offset[0] in "+-":
        sign = -1 if offset[0] == "-" else 1
        offset = offset[1:]
    position, total = 0, 0
    while position < len(offset):
        match = _OFFSET_PART.match(offset, position)
        if match is None:
            raise ValueError(f"invalid time offset {text!r}")
        unit = match.group(2)
        if unit not in _UNITS:
            raise ValueError(
                f"invalid time unit {unit!r} in {text!r} "
                "(use s, min, h, d, w, mon or y, or their long names)"
            )
        total += int(match.group(1)) * _UNITS[unit]
        if total > MAX_OFFSET:
            raise ValueError(f"time offset {text[:40]!r} is longer than {MAX_OFFSET} seconds")
        position = match.end()
    if position == 0:
        raise ValueError(f"invalid time offset {text!r}")
    return sign * total


def parse_interval(text: str) -> int:
    """Positive seconds in an interval such as `5min`, `1h` or `-7d`, as functions take them."""
    seconds = abs(parse_offset(text))
    if seconds == 0:
        raise ValueError(f"interval {text!r} is empty")
    return seconds


def _looks_like_date(digits: str) -> bool:
    """Whether eight digits read as YYYYMMDD rather than an epoch, by graphite's rule."""
    return (
        len(digits) == 8
        and int(digits[:4]) > 1900
        and int(digits[4:6]) < 13
        and int(digits[6:]) < 32
    )


def _absolute(s: str, tz: tzinfo, text: str) -> int:
    try:
        moment = datetime.strptime(s, "%H:%M%Y%m%d")
    except ValueError as error:
        raise ValueError(f"invalid time {text!r} (expected HH:MM_YYYYMMDD)") from error
    return int(moment.replace(tzinfo=tz).timestamp())


def _reference(ref: str, now: int, tz: tzinfo, text: str) -> int:
    """Epoch of a reference: a time of day, then a day, relative to `now` in `tz`."""
    if ref in ("", "now"):
        return now
    try:
        today = datetime.fromtimestamp(now, tz).replace(tzinfo=None)
        hour, minute, ref = _time_of_day(ref)
        day = _day(ref, today)
        moment = day.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return int(moment.replace(tzinfo=tz).timestamp())
    except (ValueError, OverflowError, OSError) as error:
        raise ValueError(f"invalid time {text[:80]!r}: {error}") from None


def _time_of_day(ref: str) -> tuple[int, int, str]:
    """Hour and minute named at the start of `ref` (`14:30`, `3pm`, `noon`), and the rest."""
    hour, minute = 0, 0
    colon = ref.find(":")
    if 0 < colon < 3:
        hour, minute = int(ref[:colon]), int(ref[colon + 1 : colon + 3])
        ref = ref[colon + 3 :]
        if ref.startswith(("am", "pm")):
            hour = (hour + 12) % 24 if ref.startswith("pm") else hour
            ref = ref[2:]
    for suffix, shift in (("am", 0), ("pm", 12)):
        at = ref.find(suffix)
        if 0 < at < 3 and ref[:at].isdigit():
            hour, ref = (int(ref[:at]) + shift) % 24, ref[at + 2 :]
    for word, (word_hour, word_minute) in _TIME_OF_DAY.items():
        if ref.startswith(word):
            hour, minute, ref = word_hour, word_minute, ref[len(word) :]
            break
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError("hour or minute out of range")
    return hour, minute, ref


def _day(ref: str, today: datetime) -> datetime:
    """The day `ref` names (`yesterday`, `20240101`, `1/31/24`, `jan31`, `monday`)."""
    if ref in ("", "today"):
        return today
    if ref in ("yesterday", "tomorrow"):
        return today + timedelta(days=-1 if ref == "yesterday" else 1)
    if ref.count("/") == 2:
        month, day, year = (int(part) for part in ref.split("/"))
        year += 1900 if year < 1900 else 0
        year += 100 if year < 1970 else 0
        return datetime(year, month, day)
    if len(ref) == 8 and ref.isdigit():
        return datetime(int(ref[:4]), int(ref[4:6]), int(ref[6:]))
    if ref[:3] in _MONTHS:
        digits = ref[-2:] if ref[-2:].isdigit() else ref[-1:]
        if not digits.isdigit():
            raise ValueError("a day of the month must follow the month's name")
        return datetime(today.year, _MONTHS.index(ref[:3]) + 1, int(digits))
    if ref[:3] in _WEEKDAYS:
        back = (today.weekday() - _WEEKDAYS.index(ref[:3])) % 7
        return today - timedelta(days=back)
    raise ValueError(f"unknown day reference {ref!r}")
