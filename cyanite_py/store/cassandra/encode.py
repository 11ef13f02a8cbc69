"""Block rows encoded for Cassandra's native protocol here, not bound by the driver.

Binding a prepared statement costs the driver some 15 µs a row in Python, most of the
time of a write of one window per path. A block row's values have fixed encodings
(UTF-8 text, big-endian ints, raw bytes), so they are packed here and appended to an
unlogged batch as already bound values, and the batch carries the partition key of its
first row, which the driver's token-aware policy routes it by.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from cassandra.query import BatchStatement, BatchType, PreparedStatement

from cyanite_py.store.cassandra.layout import RowValues

_I32 = struct.Struct(">i").pack
_I64 = struct.Struct(">q").pack


def routing_key(row: RowValues) -> bytes:
    """The row's partition key `(path, precision, part)` as Cassandra hashes it: each
    component with a 2-byte length and a trailing zero."""
    return b"".join(
        len(value).to_bytes(2, "big") + value + b"\0"
        for value in (row[0].encode(), _I32(row[1]), _I64(row[2]))
    )


def encoded(row: RowValues) -> list[Any]:
    """The row's values as the insert `(path, precision, part, start, stamp, offsets,
    counts, sums, mins, maxs, lasts, last_offsets)` with `USING TTL ?` binds them."""
    path, precision, part, start, stamp, *columns, ttl = row
    return [
        path.encode(), _I32(precision), _I64(part), _I64(start), _I64(stamp), *columns, _I32(ttl)
    ]  # fmt: skip


def block_batch(
    insert: PreparedStatement, keyspace: str, rows: Sequence[RowValues]
) -> BatchStatement:
    """One unlogged batch inserting `rows` (at most 65,535)."""
    batch = BatchStatement(BatchType.UNLOGGED)
    add = batch._statements_and_parameters.append
    query_id = insert.query_id
    for row in rows:
        add((True, query_id, encoded(row)))
    batch.routing_key = routing_key(rows[0])
    batch.keyspace = keyspace
    return batch
