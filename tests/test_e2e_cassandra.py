"""The whole server with `store: {type: cassandra}`: carbon in, windows flushed to a real
Cassandra, read back over HTTP, and paths and windows still there after a restart."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import trio
from cassandra.cluster import Session

from cyanite_py.config import Config
from cyanite_py.store.cassandra.layout import PART_WINDOWS
from tests.fixtures_cassandra import split_hosts
from tests.helpers import Running, now, running_server, server_config, wait_until

pytestmark = pytest.mark.cassandra


def cassandra_config(hosts: str, keyspace: str) -> Config:
    cluster, port = split_hosts(hosts)
    return server_config(
        store={
            "type": "cassandra",
            "cluster": cluster,
            "port": port,
            "keyspace": keyspace,
            "request_timeout": "5s",
        },
        engine={"rules": {"default": ["10s:1d"]}},
    )


async def values(s: Running, path: str, t: int) -> list[Any]:
    """The non-null values of `path` around `t`, once there are any (within 20 s)."""
    with trio.fail_after(20):
        while True:
            body = await s.metrics(path=path, **{"from": str(t - 60), "to": str(t + 60)})
            found = [v for v in body["series"].get(path, []) if v is not None]
            if found:
                return found
            await trio.sleep(0.2)


async def test_flushed_windows_are_read_back_from_cassandra_after_a_restart(
    cassandra_hosts: str, cassandra_keyspace: str, cassandra_session: Session
) -> None:
    config = cassandra_config(cassandra_hosts, cassandra_keyspace)
    t = now() - 120
    t -= t % 10
    async with running_server(config) as s:
        await s.send_lines(f"cas.web01.cpu 4 {t}\ncas.web01.cpu 6 {t + 1}\ncas.web02.cpu 1 {t}\n")
        await s.until("engine_points", 3)
        with trio.fail_after(20):
            await wait_until(lambda: s.registry.total("store_snapshots_written") >= 2)
    stored = cassandra_session.execute(
        f"SELECT start, offsets, counts, sums, mins, maxs FROM {cassandra_keyspace}.block"
        " WHERE path = 'cas.web01.cpu' AND precision = 10 AND part = %s",
        (t - t % (10 * PART_WINDOWS),),
    ).one()
    assert stored.start + 10 * stored.offsets[0] == t
    columns = [stored.counts, stored.sums, stored.mins, stored.maxs]
    assert [np.frombuffer(column, "<f8").tolist() for column in columns] == [
        [2.0],
        [10.0],
        [4.0],
        [6.0],
    ]

    async with running_server(config) as s:
        paths = await s.http.get("/paths", params={"query": "cas.*.cpu"})
        assert [node["path"] for node in paths.json()] == ["cas.web01.cpu", "cas.web02.cpu"]
        assert await values(s, "cas.web01.cpu", t) == [5.0]
        render = await s.http.get(
            "/render",
            params={
                "target": "sumSeries(cas.*.cpu)",
                "from": str(t - 60),
                "until": str(t + 60),
                "format": "json",
            },
        )
        assert render.status_code == 200, render.text
        points = [v for v, _ in render.json()[0]["datapoints"] if v is not None]
        assert points == [6.0]
