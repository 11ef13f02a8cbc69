"""Sending requests to Cassandra with a bound on those awaiting answers, counted by the
operation they serve (write, read, schema, fold)."""

from __future__ import annotations

from collections.abc import Iterable

import trio
from cassandra import OperationTimedOut, ReadTimeout, WriteTimeout
from cassandra.cluster import EXEC_PROFILE_DEFAULT

from cyanite_py.counters import Registry
from cyanite_py.ratelog import RateLimitedLog
from cyanite_py.store.base import StoreUnavailable
from cyanite_py.store.cassandra.calls import Calls, Request
from cyanite_py.store.cassandra.connection import READ_PROFILE, Connection

OPERATIONS = ("write", "read", "schema", "fold")


class Sender:
    """At most `max_in_flight` requests await answers at once, across every caller."""

    def __init__(self, max_in_flight: int, registry: Registry, log: RateLimitedLog) -> None:
        self._in_flight = trio.Semaphore(max_in_flight)
        self._registry = registry
        self._log = log
        self._sent = {
            op: registry.counter("store_cassandra_statements", "Requests sent", op=op)
            for op in OPERATIONS
        }

    async def send(self, conn: Connection, requests: Iterable[Request], op: str) -> None:
        """Send every request; stop at the first error and raise it as `StoreUnavailable`
        (counted and logged)."""
        try:
            await self.send_all(conn, requests, op)
        except Exception as error:
            raise self._unavailable(error, op) from error

    async def send_all(self, conn: Connection, requests: Iterable[Request], op: str) -> None:
        """Send every request; stop at the first error and raise it as the driver did."""
        slots = self._in_flight
        calls = Calls(slots)
        profile = READ_PROFILE if op == "read" else EXEC_PROFILE_DEFAULT
        execute = conn.session.execute_async
        sent = self._sent[op]
        for statement, values, handle in requests:
            try:
                slots.acquire_nowait()
            except trio.WouldBlock:
                await slots.acquire()
            if calls.error is not None:
                slots.release()
                break
            try:
                future = execute(statement, values, execution_profile=profile)
            except BaseException:
                slots.release()
                raise
            sent.inc()
            calls.track(future, handle)
        await calls.wait()
        if calls.error is not None:
            raise calls.error

    def _unavailable(self, error: Exception, op: str) -> StoreUnavailable:
        kind = type(error).__name__
        if isinstance(error, OperationTimedOut | ReadTimeout | WriteTimeout):
            timeouts = self._registry.counter(
                "store_cassandra_timeouts", "Requests that timed out", op=op
            )
            timeouts.inc()
        name = "store_cassandra_read_errors" if op == "read" else "store_cassandra_write_errors"
        self._registry.counter(name, f"Failed Cassandra {op} requests", error=kind).inc()
        self._log.warning(f"{op}:{kind}", "cassandra %s failed: %s: %s", op, kind, error)
        return StoreUnavailable(f"cassandra {op} failed: {kind}: {error}")
