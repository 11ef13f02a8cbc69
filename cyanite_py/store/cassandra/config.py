"""Settings and schema of the Cassandra store, apart from the store itself, so reading a
configuration, or printing the schema, does not load the Cassandra driver."""

from __future__ import annotations

import re
from dataclasses import field
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, PositiveInt

from cyanite_py.settings import Duration, settings
from cyanite_py.store.cassandra.event_tables import EVENTS_CQL
from cyanite_py.store.cassandra.paths import LOG_TTL, PATH_LOG_CQL

Consistency = Literal[
    "ANY", "ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE"
]
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")


def _identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a Cassandra keyspace name (letters, digits, _)")
    return name


@settings
class CassandraStoreConfig:
    """`store:` settings for `type: cassandra`. `create_schema` applies `schema_cql` at
    start-up, with TimeWindowCompactionStrategy windows of `compaction_window` (a whole
    number of hours; about the longest period divided by 30); `max_in_flight` bounds the
    requests awaiting an answer at once; a read asks for `read_paths` paths a request.
    `protocol_version` 4 is the default because the driver checksums every frame of
    version 5 in Python, which costs a large read a third of its time or more."""

    type: Literal["cassandra"] = "cassandra"
    cluster: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    port: Annotated[int, Field(ge=1, le=65535)] = 9042
    keyspace: Annotated[str, AfterValidator(_identifier)] = "metric"
    replication_factor: PositiveInt = 1
    username: str | None = None
    password: str | None = None
    read_consistency: Consistency = "ONE"
    write_consistency: Consistency = "ONE"
    request_timeout: Duration = 10
    max_in_flight: PositiveInt = 16
    read_paths: PositiveInt = 16
    protocol_version: Annotated[int, Field(ge=3, le=6)] = 4
    create_schema: bool = True
    compaction_window: Duration = 86400

    def __post_init__(self) -> None:
        if not self.cluster:
            raise ValueError("cluster needs at least one host")
        if self.request_timeout <= 0:
            raise ValueError("request_timeout must be positive")
        if self.compaction_window < 3600 or self.compaction_window % 3600:
            raise ValueError("compaction_window must be a whole number of hours")


_SCHEMA = """\
CREATE KEYSPACE IF NOT EXISTS {keyspace}
  WITH replication = {{'class': 'NetworkTopologyStrategy', 'replication_factor': {rf}}}
  AND durable_writes = true;

CREATE TABLE IF NOT EXISTS {keyspace}.block (
  path text,
  precision int,
  part bigint,
  start bigint,
  stamp bigint,
  offsets blob,
  counts blob,
  sums blob,
  mins blob,
  maxs blob,
  lasts blob,
  last_offsets blob,
  PRIMARY KEY ((path, precision, part), start, stamp)
) WITH CLUSTERING ORDER BY (start ASC, stamp ASC)
  AND compaction = {{
    'class': 'TimeWindowCompactionStrategy',
    'compaction_window_unit': 'HOURS',
    'compaction_window_size': '{window_hours}',
    'unchecked_tombstone_compaction': 'true'
  }}
  AND gc_grace_seconds = 10800
  AND caching = {{'keys': 'ALL', 'rows_per_partition': 'NONE'}};

CREATE TABLE IF NOT EXISTS {keyspace}.path (
  path text PRIMARY KEY
);
"""


def schema_cql(keyspace: str, replication_factor: int, compaction_window: int = 86400) -> str:
    """The CQL that creates the keyspace and its tables; applying it again changes nothing.

    `block` rows are one path's windows of one block, column-wise, in partitions bounded
    to 8,192 windows (`layout`); `path_log` keeps new paths by minute for a while
    (`paths`); events are kept until deleted (`event_tables`); every block row expires
    through a TTL of its resolution's period, so whole SSTables of one compaction window
    expire together.
    Folding a block deletes its parts: `gc_grace_seconds` is Cassandra's default
    `max_hint_window` (3 h), so a replica that missed a delete gets it from a hint before
    the tombstone can be dropped, and no part comes back to be counted twice."""
    return (
        _SCHEMA.format(
            keyspace=_identifier(keyspace),
            rf=int(replication_factor),
            window_hours=max(1, int(compaction_window) // 3600),
        )
        + "\n"
        + PATH_LOG_CQL.format(keyspace=keyspace, ttl=LOG_TTL)
        + "\n"
        + EVENTS_CQL.format(keyspace=keyspace)
    )


def statements(cql: str) -> list[str]:
    """The statements of a CQL script, one request each."""
    return [part.strip() for part in cql.split(";") if part.strip()]
