"""The tables of events, apart from the code that reads them, so the schema can be printed
without the Cassandra driver.

`event` finds an event by its id; `event_by_day` holds the same event again in a
partition per UTC day, ordered by time, for queries by time; `event_day` lists the days
that hold events (one small partition), so a query over years asks only the days that
have any; `event_tag` lists every tag ever stored, for graphite-web's default tag match.
An event is written to all four in one logged batch, so it is in all of them or none.
"""

from __future__ import annotations

import secrets

DAY = 86400
MAX_ID = 2**53 - 1
"""Ids stay exact in JavaScript's numbers, as Grafana reads them."""

EVENTS_CQL = """\
CREATE TABLE IF NOT EXISTS {keyspace}.event (
  id bigint PRIMARY KEY,
  at double,
  what text,
  data text,
  tags list<text>
);

CREATE TABLE IF NOT EXISTS {keyspace}.event_by_day (
  day int,
  at double,
  id bigint,
  what text,
  data text,
  tags list<text>,
  PRIMARY KEY (day, at, id)
) WITH CLUSTERING ORDER BY (at ASC, id ASC);

CREATE TABLE IF NOT EXISTS {keyspace}.event_day (
  shard int,
  day int,
  PRIMARY KEY (shard, day)
);

CREATE TABLE IF NOT EXISTS {keyspace}.event_tag (
  tag text PRIMARY KEY
);
"""


def day_of(when: float) -> int:
    """The UTC day (days since the epoch) that holds `when`."""
    return int(when // DAY)


def new_id() -> int:
    """A random id in 1..2**53-1: servers sharing a keyspace number events without
    asking each other; two of a million events share an id with odds of 1 in 18,000."""
    return secrets.randbelow(MAX_ID) + 1
