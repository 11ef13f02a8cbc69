"""The whole server with `index: {type: elasticsearch}`: carbon in, paths answered from a
real Elasticsearch over both HTTP APIs, kept across a restart, and 503 while it is away."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from cyanite_py.config import Config
from tests.helpers import Running, now, running_server, server_config

pytestmark = pytest.mark.elasticsearch


def es_config(url: str, index: str) -> Config:
    return server_config(
        index={"type": "elasticsearch", "url": url, "index": index, "flush_interval": 0.1}
    )


async def paths(s: Running, query: str, count: int = 1) -> list[Any]:
    """`/paths?query=` once it lists `count` nodes within 20 s (index writes are in the
    background)."""
    with trio.fail_after(20):
        while True:
            response = await s.http.get("/paths", params={"query": query})
            assert response.status_code == 200, response.text
            nodes: list[Any] = response.json()
            if len(nodes) >= count:
                return nodes
            await trio.sleep(0.1)


async def test_paths_are_answered_from_elasticsearch(
    elasticsearch_url: str, elasticsearch_index: str
) -> None:
    async with running_server(es_config(elasticsearch_url, elasticsearch_index)) as s:
        t = now()
        await s.send_lines(f"es.web01.cpu 1 {t}\nes.web02.cpu 2 {t}\nes.web01.mem 3 {t}\n")
        await s.until("engine_points", 3)
        found = await paths(s, "es.web0?.cpu", count=2)
        assert [node["path"] for node in found] == ["es.web01.cpu", "es.web02.cpu"]
        find = await s.http.get("/metrics/find", params={"query": "es.*"})
        assert find.status_code == 200, find.text
        assert [node["text"] for node in find.json()] == ["web01", "web02"]
        body = await s.metrics(path="es.web*.cpu", **{"from": str(t - 60)})
        assert set(body["series"]) == {"es.web01.cpu", "es.web02.cpu"}


async def test_paths_outlive_the_server(elasticsearch_url: str, elasticsearch_index: str) -> None:
    config = es_config(elasticsearch_url, elasticsearch_index)
    async with running_server(config) as s:
        await s.send_lines(f"kept.in.es 1 {now()}\n")
        await s.until("engine_points", 1)
        await paths(s, "kept.in.es")
    async with running_server(config) as s:
        assert [node["path"] for node in await paths(s, "kept.*.*")] == ["kept.in.es"]


async def test_an_unreachable_elasticsearch_gives_503_not_a_crash(elasticsearch_index: str) -> None:
    async with running_server(es_config("http://127.0.0.1:9", elasticsearch_index)) as s:
        await s.send_lines(f"lost.path 1 {now()}\n")
        await s.until("engine_points", 1)
        response = await s.http.get("/paths", params={"query": "*"})
        assert response.status_code == 503
        assert (await s.http.get("/ping")).status_code == 200
