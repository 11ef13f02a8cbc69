"""Two servers behind carbon-c-relay, sharing one Cassandra keyspace, and their paths
through the store (memory index) or one Elasticsearch index: every series is listed and
answered by either server, a series sent to both merges, and a window still open on one
server shows on the other once that one has written a checkpoint."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from cyanite_py.config import Config
from tests.fixtures_cassandra import split_hosts
from tests.helpers import Running, now, running_server, server_config

pytestmark = pytest.mark.scale_out

SERIES = 40
DEADLINE = 60
"""Seconds to wait for what the documented delays (about 15 s) promise."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def relay(folder: Path, servers: list[Running]) -> Iterator[int]:
    """carbon-c-relay hashing paths over `servers` (carbon_ch), on a port of its own."""
    binary = shutil.which("carbon-c-relay")
    if binary is None:
        pytest.skip("carbon-c-relay is not installed (scripts/test installs it)")
    port = free_port()
    members = "\n".join(
        f"        127.0.0.1:{server.bound.port('carbon')}={name}"
        for name, server in zip("ab", servers, strict=False)
    )
    config = folder / "relay.conf"
    config.write_text(
        f"listen\n    type linemode\n        {port} proto tcp\n    ;\n"
        f"cluster cyanite\n    carbon_ch replication 1\n{members}\n    ;\n"
        "match *\n    send to cyanite\n    stop\n    ;\n"
    )
    process = subprocess.Popen(
        [binary, "-f", str(config), "-s", "-w", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


async def send(port: int, text: str) -> None:
    with trio.fail_after(DEADLINE):
        while True:
            try:
                stream = await trio.open_tcp_stream("127.0.0.1", port)
                break
            except OSError:  # the relay is still starting
                await trio.sleep(0.1)
    async with stream:
        await stream.send_all(text.encode())


def shared_config(cassandra: str, keyspace: str, index: dict[str, Any]) -> Config:
    cluster, port = split_hosts(cassandra)
    store = {"type": "cassandra", "cluster": cluster, "port": port, "keyspace": keyspace}
    return server_config(
        store=store | {"request_timeout": "5s"},
        index=index,
        engine={"rules": {"default": ["10s:1d"]}},
        reporter={"enabled": False},  # only the test's points reach the engines
    )


async def eventually(ask: Any, what: str) -> Any:
    """`await ask()` once it is truthy, or fail after DEADLINE seconds naming `what`."""
    with trio.move_on_after(DEADLINE):
        while True:
            answer = await ask()
            if answer:
                return answer
            await trio.sleep(0.5)
    pytest.fail(f"not within {DEADLINE} s: {what}")


async def found(server: Running, query: str) -> set[str]:
    """The ids of the nodes /metrics/find lists (graphite-web names them by the query's
    parent, so a query's wildcards are best kept to its last node)."""
    response = await server.http.get("/metrics/find", params={"query": query})
    assert response.status_code == 200, response.text
    return {node["id"] for node in response.json()}


async def rendered(server: Running, target: str, t: int) -> dict[str, list[float]]:
    """Each series' non-null values from /render around `t`."""
    response = await server.http.get(
        "/render",
        params={"target": target, "from": str(t - 60), "until": str(t + 60), "format": "json"},
    )
    assert response.status_code == 200, response.text
    return {
        series["target"]: [value for value, _ in series["datapoints"] if value is not None]
        for series in response.json()
    }


async def counted(server: Running, path: str, t: int) -> list[float]:
    body = await server.metrics(path=path, agg="count", **{"from": str(t - 60), "to": str(t + 60)})
    return [value for value in body["series"].get(path, []) if value is not None]


async def check_two_servers(config: Config, folder: Path) -> None:
    paths = {f"scale.host{i:02d}.cpu" for i in range(SERIES)}
    t = now()
    async with running_server(config) as a, running_server(config) as b:
        with relay(folder, [a, b]) as port:
            await send(port, "".join(f"{path} 1 {t}\n" for path in sorted(paths)))
            await eventually(lambda: _sum_points(a, b, SERIES), "every point received")
            # Consistent hashing spread the series over both servers.
            assert 0 < a.registry.total("engine_points") < SERIES
            for server in (a, b):
                listed = await eventually(
                    lambda s=server: _all_listed(s, paths), "every series listed"
                )
                assert listed == {path.rpartition(".")[0] for path in paths}
                values = await eventually(
                    lambda s=server: _all_rendered(s, paths, t), "every series rendered"
                )
                assert values == {path: [1.0] for path in paths}

        # Sent to both servers, one series merges in the store.
        both = "scale.both.cpu"
        await a.send_lines(f"{both} 2 {t}\n")
        await b.send_lines(f"{both} 4 {t}\n")
        for server in (a, b):
            assert await eventually(lambda s=server: _counted(s, both, t, 2.0), "merged") == [2.0]

        # A window open on a: a answers from it at once, b once a checkpointed it.
        open_path = "scale.open.cpu"
        points = a.registry.total("engine_points")
        await a.send_lines(f"{open_path} 7 {t}\n")
        await a.until("engine_points", points + 1)
        assert await eventually(lambda: _counted(a, open_path, t, 1.0), "a's open window")
        assert await eventually(lambda: _counted(b, open_path, t, 1.0), "a's checkpoint on b")


async def _sum_points(a: Running, b: Running, at_least: int) -> bool:
    await trio.lowlevel.checkpoint()
    return a.registry.total("engine_points") + b.registry.total("engine_points") >= at_least


async def _all_listed(server: Running, paths: set[str]) -> set[str] | None:
    hosts = {path.rpartition(".")[0] for path in paths}
    listed = await found(server, "scale.host*")
    return listed if hosts == listed else None


async def _all_rendered(server: Running, paths: set[str], t: int) -> dict[str, list[float]]:
    values = await rendered(server, "scale.host*.cpu", t)
    return values if all(values.get(path) for path in paths) else {}


async def _counted(server: Running, path: str, t: int, count: float) -> list[float] | None:
    values = await counted(server, path, t)
    return values if values == [count] else None


async def test_two_servers_with_memory_indexes_learn_each_others_paths(
    cassandra_hosts: str, cassandra_keyspace: str, tmp_path: Path
) -> None:
    index = {"type": "memory", "refresh_interval": "1s"}
    await check_two_servers(shared_config(cassandra_hosts, cassandra_keyspace, index), tmp_path)


async def test_two_servers_share_one_elasticsearch_index(
    cassandra_hosts: str,
    cassandra_keyspace: str,
    elasticsearch_url: str,
    elasticsearch_index: str,
    tmp_path: Path,
) -> None:
    index = {"type": "elasticsearch", "url": elasticsearch_url, "index": elasticsearch_index}
    await check_two_servers(shared_config(cassandra_hosts, cassandra_keyspace, index), tmp_path)
