"""`store:` settings for `type: sqlite`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveInt

from cyanite_py.settings import Duration, settings

MAX_RECENT_WRITES = 64
"""Writes `recent` may hold before compaction starts without waiting for writes to pause."""


@settings
class SqliteStoreConfig:
    """`synchronous: normal` with WAL loses at most the latest batches on a power cut,
    never the file; `cache_size_mb` is per connection; `busy_timeout` is how long to wait
    for another process holding a lock (a backup); `mmap_size_mb` is how much of the file
    read connections map instead of copying its pages into their own caches (0 turns
    mapping off); `compact_after_writes` is how many writes `recent` holds before they are
    merged into `block` (each read seeks once per write held, each compaction rewrites the
    open blocks once), which starts once no write has come for `compact_quiet` seconds."""

    type: Literal["sqlite"] = "sqlite"
    path: str = "./data/cyanite.db"
    expire_interval: Duration = 600
    synchronous: Literal["off", "normal", "full"] = "normal"
    cache_size_mb: PositiveInt = 32
    read_connections: PositiveInt = 4
    busy_timeout: Duration = 5
    mmap_size_mb: NonNegativeInt = 1024
    compact_after_writes: Annotated[int, Field(ge=1, le=MAX_RECENT_WRITES)] = 8
    compact_quiet: NonNegativeFloat = 0.5
