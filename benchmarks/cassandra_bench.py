"""What the Cassandra benchmarks share: a store configuration from `--hosts`, and a store
run for the length of a block in a keyspace of the benchmark's own, dropped afterwards."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
from cassandra.cluster import Cluster

from cyanite_py.counters import Registry
from cyanite_py.store.cassandra.config import CassandraStoreConfig
from cyanite_py.store.cassandra.store import CassandraStore


def bench_config(hosts: str, keyspace: str, **settings: Any) -> CassandraStoreConfig:
    """A configuration for `"host:port,host:port"` (one port shared) and `keyspace`."""
    pairs = [item.rpartition(":") for item in hosts.split(",")]
    return CassandraStoreConfig(
        cluster=[host for host, _, _ in pairs],
        port=int(pairs[0][2]),
        keyspace=keyspace,
        **settings,
    )


@asynccontextmanager
async def bench_store(
    config: CassandraStoreConfig, registry: Registry
) -> AsyncIterator[CassandraStore | None]:
    """A running store, or None (said on stderr) when Cassandra cannot be reached; its
    keyspace is dropped when the block ends."""
    async with trio.open_nursery() as nursery:
        store = CassandraStore(config, registry)
        await nursery.start(store.run)
        if not store.connected:
            print(f"cannot reach Cassandra at {config.cluster} port {config.port}", file=sys.stderr)
            nursery.cancel_scope.cancel()
            yield None
            return
        try:
            yield store
        finally:
            await trio.to_thread.run_sync(drop_keyspace, config)
            nursery.cancel_scope.cancel()


def drop_keyspace(config: CassandraStoreConfig) -> None:
    """Remove the benchmark's keyspace (blocking: run it in a worker thread)."""
    cluster = Cluster(config.cluster, port=config.port)
    try:
        cluster.connect().execute(f"DROP KEYSPACE IF EXISTS {config.keyspace}", timeout=120)
    finally:
        cluster.shutdown()
