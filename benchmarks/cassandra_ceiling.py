"""The driver-only ceiling: what the Cassandra driver alone writes and reads per second.

No store, no trio, no engine: prepared inserts sent with `execute_async` and a bound on
requests in flight, into a keyspace of its own (dropped afterwards), with rows shaped like
the store's (a blob of packed 40-byte window records per row). Quote the store's own
figures (`benchmarks/store_write_cassandra.py`) as a fraction of these, measured in the
same minute: the machine is shared, so the ratio means more than either figure.

    .venv/bin/python benchmarks/cassandra_ceiling.py [--hosts 127.0.0.1:9042]
        [--rows 20000] [--windows 1,64,256] [--batch 1,16] [--in-flight 128]
        [--spread] [--read-paths 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from cassandra.cluster import Cluster, ResponseFuture, Session
from cassandra.query import BatchStatement, BatchType, PreparedStatement, tuple_factory

KEYSPACE = f"ceiling_{os.getpid()}"
RECORD_BYTES = 40


class Bounded:
    """Sends requests with at most `limit` awaiting an answer, and waits for them all."""

    def __init__(self, limit: int) -> None:
        self._slots = threading.Semaphore(limit)
        self._done = threading.Condition()
        self._pending = 0
        self.rows = 0
        self.errors: list[BaseException] = []

    def send(self, future: ResponseFuture) -> None:
        with self._done:
            self._pending += 1
        future.add_callbacks(lambda rows: self._answered(future, rows), self._failed)

    def acquire(self) -> None:
        self._slots.acquire()

    def _answered(self, future: ResponseFuture, rows: Any) -> None:
        if rows:
            self.rows += len(rows)
        if future.has_more_pages:
            future.start_fetching_next_page()
            return
        self._finish()

    def _failed(self, error: BaseException) -> None:
        self.errors.append(error)
        self._finish()

    def _finish(self) -> None:
        self._slots.release()
        with self._done:
            self._pending -= 1
            self._done.notify_all()

    def wait(self) -> None:
        with self._done:
            self._done.wait_for(lambda: self._pending == 0)
        if self.errors:
            raise self.errors[0]


def timed(session: Session, limit: int, requests: Iterable[tuple[Any, Sequence[Any]]]) -> float:
    """Seconds to send every request and have every answer."""
    bounded = Bounded(limit)
    started = time.perf_counter()
    for statement, values in requests:
        bounded.acquire()
        bounded.send(session.execute_async(statement, values))
    bounded.wait()
    return time.perf_counter() - started


def writes(
    insert: PreparedStatement, rows: int, windows: int, per_batch: int, spread: bool
) -> list[tuple[Any, Sequence[Any]]]:
    """`rows` rows of `windows` records each, `per_batch` rows a request, of one partition
    or (`spread`) each of its own, as a flush of one window per path makes them."""
    blob = bytes(RECORD_BYTES * windows)
    out: list[tuple[Any, Sequence[Any]]] = []
    for first in range(0, rows, per_batch):
        if spread:
            values = [
                (f"ceiling.p{first + i:07d}", 10, 0, 0, 1, blob, 86400) for i in range(per_batch)
            ]
        else:
            path = f"ceiling.p{first // per_batch:07d}"
            values = [(path, 10, 0, block, 1, blob, 86400) for block in range(per_batch)]
        if per_batch == 1:
            out.append((insert, values[0]))
        else:
            statement = BatchStatement(BatchType.UNLOGGED)
            for row in values:
                statement.add(insert, row)
            out.append((statement, ()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default=os.environ.get("CASSANDRA_HOSTS", "127.0.0.1:9042"))
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--windows", default="1,64,256")
    parser.add_argument("--batch", default="1,16")
    parser.add_argument("--in-flight", type=int, default=128)
    parser.add_argument("--spread", action="store_true", help="one partition a row")
    parser.add_argument("--read-paths", type=int, default=1, help="partitions a read (IN)")
    args = parser.parse_args()
    hosts = [item.rpartition(":") for item in args.hosts.split(",")]
    cluster = Cluster([host for host, _, _ in hosts], port=int(hosts[0][2]))
    try:
        session = cluster.connect()
    except Exception as error:
        print(f"cannot reach Cassandra at {args.hosts}: {error}", file=sys.stderr)
        sys.exit(1)
    session.row_factory = tuple_factory
    session.execute(
        f"CREATE KEYSPACE {KEYSPACE} WITH replication ="
        " {'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    try:
        session.execute(
            f"CREATE TABLE {KEYSPACE}.t (path text, precision int, part bigint, block bigint,"
            " stamp bigint, data blob, PRIMARY KEY ((path, precision, part), block, stamp))"
        )
        insert = session.prepare(
            f"INSERT INTO {KEYSPACE}.t (path, precision, part, block, stamp, data)"
            " VALUES (?, ?, ?, ?, ?, ?) USING TTL ?"
        )
        select = session.prepare(
            f"SELECT block, stamp, data FROM {KEYSPACE}.t"
            " WHERE path IN ? AND precision = 10 AND part = 0"
        )
        print(
            f"driver-only ceiling, {args.rows} rows a run, {args.in_flight} in flight,"
            f" {'one partition a row' if args.spread else 'rows of a request share a partition'}"
        )
        for windows in map(int, args.windows.split(",")):
            for per_batch in map(int, args.batch.split(",")):
                session.execute(f"TRUNCATE {KEYSPACE}.t")
                requests = writes(insert, args.rows, windows, per_batch, args.spread)
                seconds = timed(session, args.in_flight, requests)
                rate = args.rows / seconds
                print(
                    f"  write {windows:4d} windows/row, {per_batch:3d} rows/request:"
                    f" {rate:9,.0f} rows/s = {rate * windows:11,.0f} windows/s"
                )
                count = args.rows if args.spread else args.rows // per_batch
                names = [f"ceiling.p{i:07d}" for i in range(count)]
                step = args.read_paths
                reads = ((select, ([*names[i : i + step]],)) for i in range(0, count, step))
                seconds = timed(session, args.in_flight, reads)
                rate = args.rows / seconds
                print(
                    f"  read  {windows:4d} windows/row, {step:3d} partitions/request:"
                    f" {rate:9,.0f} rows/s = {rate * windows:11,.0f} windows/s"
                )
        print(f"  rerun: .venv/bin/python {' '.join(sys.argv)}")
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {KEYSPACE}", timeout=120)
        cluster.shutdown()


if __name__ == "__main__":
    main()
