"""The tables of paths: `path` holds every path once, for rebuilding an index at start-up;
`path_log` holds each new path again under the minute it was written, for a while, so a
server sharing the store learns another's new paths by reading a minute or two, not the
whole `path` table.

A server stamps the log with its own clock, so the next read starts `LOG_OVERLAP` before
the last one ended: it covers clocks a little apart and writes still in flight, and a
path read twice is harmless to an index.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

LOG_TTL = 2 * 86400
"""Seconds a path stays in `path_log`; a reader further behind loads every path again."""
LOG_OVERLAP_MS = 60_000
"""How far before its last read a reader of `path_log` starts again."""
MINUTE_MS = 60_000

PATH_LOG_CQL = """\
CREATE TABLE IF NOT EXISTS {keyspace}.path_log (
  minute bigint,
  written bigint,
  path text,
  PRIMARY KEY (minute, written, path)
) WITH default_time_to_live = {ttl}
  AND compaction = {{
    'class': 'TimeWindowCompactionStrategy',
    'compaction_window_unit': 'HOURS',
    'compaction_window_size': '1'
  }}
  AND gc_grace_seconds = 10800;
"""


def log_rows(paths: Sequence[str], now_ms: int) -> list[tuple[int, int, str]]:
    """The `path_log` rows `(minute, written, path)` of paths first written at `now_ms`."""
    minute = now_ms - now_ms % MINUTE_MS
    return [(minute, now_ms, path) for path in paths]


def log_reads(cursor_ms: int, now_ms: int) -> Iterator[tuple[int, int]]:
    """`(minute, written_from)` for each minute of `path_log` from `cursor_ms` to now."""
    first = cursor_ms - cursor_ms % MINUTE_MS
    for minute in range(first, now_ms + 1, MINUTE_MS):
        yield minute, cursor_ms


def needs_full_load(cursor_ms: int, now_ms: int) -> bool:
    """Whether a reader at `cursor_ms` (0: none yet) must read the whole `path` table: the
    log no longer reaches back that far."""
    return cursor_ms <= 0 or now_ms - cursor_ms > LOG_TTL * 1000 - LOG_OVERLAP_MS


def next_cursor(now_ms: int) -> int:
    return now_ms - LOG_OVERLAP_MS


def paths_of(rows: list[Any]) -> list[str]:
    return [row[0] for row in rows]
