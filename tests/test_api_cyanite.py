"""Cyanite's HTTP API driven in-process: shapes, resolutions, open windows, and bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import trio

from cyanite_py.api.app import build_app
from cyanite_py.api.config import ApiConfig
from cyanite_py.counters import Registry
from cyanite_py.engine import DriftConfig, Engine, EngineConfig
from cyanite_py.index.memory import MemoryIndex, MemoryIndexConfig
from cyanite_py.model import PointBatch, Resolution, Series
from cyanite_py.query import Reader
from cyanite_py.store.base import StoreUnavailable
from cyanite_py.store.memory import MemoryStore, MemoryStoreConfig

NOW = 1_700_000_000 - 1_700_000_000 % 3600


class World:
    """Real store, index and engine with a fixed clock, joined like the server joins them."""

    def __init__(self) -> None:
        self.registry = Registry()
        self.store = MemoryStore(MemoryStoreConfig(), self.registry, clock=lambda: NOW)
        self.index = MemoryIndex(MemoryIndexConfig(), self.registry)
        _, receive = trio.open_memory_channel[PointBatch](1)
        rules = {
            "^fine": [Resolution(10, 3600), Resolution(60, 86400)],
            "default": [Resolution(60, 86400)],
        }
        self.engine = Engine(
            EngineConfig(rules=rules),
            DriftConfig(),
            receive,
            self.store.write,
            self.index.add,
            self.registry,
            clock=lambda: NOW,
        )
        reader = Reader(self.store, self.index, self.engine, clock=lambda: NOW)
        self.app = build_app(reader, self.registry, ApiConfig(max_body_size=1000))

    async def ingest(self, *points: tuple[str, float, int]) -> None:
        paths, values, times = zip(*points, strict=True)
        batch = PointBatch(list(paths), list(values), list(times))
        await self.store.write(self.engine.ingest(batch))


@pytest.fixture
async def world() -> World:
    return World()


@pytest.fixture
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cyanite") as client:
        yield client


async def test_ping(client: httpx.AsyncClient) -> None:
    response = await client.get("/ping")
    assert response.json() == {"response": "pong"}


async def test_paths_lists_branches_and_leaves(world: World, client: httpx.AsyncClient) -> None:
    await world.ingest(("a.b", 1, NOW), ("a.b.c", 1, NOW), ("a.d.e", 1, NOW))
    response = await client.get("/paths", params={"query": "a.*"})
    assert response.json() == [
        {"path": "a.b", "text": "b", "id": "a.b", "leaf": 1, "expandable": 1, "allowChildren": 1},
        {"path": "a.d", "text": "d", "id": "a.d", "leaf": 0, "expandable": 1, "allowChildren": 1},
    ]


async def test_metrics_reads_stored_and_open_windows(
    world: World, client: httpx.AsyncClient
) -> None:
    await world.ingest(("fine.x", 1, NOW - 30), ("fine.x", 3, NOW - 29), ("fine.x", 5, NOW - 5))
    body = (await client.get("/metrics", params={"path": "fine.x", "from": str(NOW - 30)})).json()
    assert body == {
        "from": NOW - 30,
        "to": NOW + 10,
        "step": 10,
        "series": {"fine.x": [2.0, None, 5.0, None]},
    }
    summed = await client.get("/metrics", params={"path": "fine.x", "from": "-30s", "agg": "sum"})
    assert summed.json()["series"]["fine.x"] == [4.0, None, 5.0, None]


async def test_metrics_reads_a_coarser_resolution_for_older_ranges(
    world: World, client: httpx.AsyncClient
) -> None:
    await world.ingest(("fine.x", 1, NOW - 7200), ("fine.x", 3, NOW - 7170))
    body = (
        await client.get(
            "/metrics", params={"path": "fine.x", "from": "-2h", "to": str(NOW - 7100)}
        )
    ).json()
    assert body["step"] == 60
    assert body["series"]["fine.x"][:2] == [2.0, None]


async def test_series_of_different_steps_share_the_coarser_one(
    world: World, client: httpx.AsyncClient
) -> None:
    await world.ingest(("fine.x", 1, NOW - 60), ("fine.x", 3, NOW - 50), ("coarse.y", 7, NOW - 60))
    params = {"path": ["fine.x", "coarse.y"], "from": str(NOW - 60), "to": str(NOW - 1)}
    body = (await client.get("/metrics", params=params)).json()
    assert body["step"] == 60
    assert body["series"] == {"fine.x": [2.0], "coarse.y": [7.0]}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({}, "path"),
        ({"path": "a"}, "from"),
        ({"path": "a", "from": "yesterday-ish"}, "from"),
        ({"path": "a", "from": "-1h", "to": "-2h"}, "before"),
        ({"path": "a", "from": "-1h", "agg": "median"}, "agg"),
        ({"path": "", "from": "-1h"}, "path"),
    ],
)
async def test_bad_metrics_parameters_are_400_with_a_message(
    client: httpx.AsyncClient, params: dict[str, str], fragment: str
) -> None:
    response = await client.get("/metrics", params=params)
    assert response.status_code == 400
    assert fragment in response.json()["message"]


async def test_paths_without_a_query_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/paths")
    assert response.status_code == 400
    assert "query" in response.json()["message"]


async def test_unknown_routes_are_404_in_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/nothing/here")
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


async def test_a_huge_body_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/metrics", content=b"x" * 5000)
    assert response.status_code == 413


async def test_requests_are_counted_and_exported_for_prometheus(client: httpx.AsyncClient) -> None:
    await client.get("/ping")
    await client.get("/nothing")
    text = (await client.get("/prometheus")).text
    assert 'cyanite_api_requests_total{route="/ping",status="200"} 1' in text
    assert 'cyanite_api_requests_total{route="other",status="404"} 1' in text
    assert "# TYPE cyanite_api_requests_total counter" in text


class AwayStore(MemoryStore):
    """A store whose backend has gone: every read fails as a real outage would."""

    async def read(self, *args: object, **kwargs: object) -> dict[str, Series]:
        raise StoreUnavailable("connection refused")


async def test_a_store_that_is_away_gives_503_not_500(world: World) -> None:
    await world.ingest(("fine.x", 1, NOW), ("coarse.y", 1, NOW))
    reader = Reader(AwayStore(MemoryStoreConfig(), world.registry), world.index, world.engine)
    app = build_app(reader, world.registry)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cyanite") as client:
        response = await client.get("/metrics", params={"path": "*.*", "from": "-1h"})
    assert response.status_code == 503
    assert "connection refused" in response.json()["message"]


async def test_infinities_are_written_as_graphite_web_writes_them(
    world: World, client: httpx.AsyncClient
) -> None:
    await world.ingest(("fine.inf", float("inf"), NOW - 30), ("fine.inf", 1.0, NOW - 20))
    answer = await client.get(
        "/metrics", params={"path": "fine.inf", "from": "-1min", "agg": "max"}
    )
    assert b"1e9999" in answer.content
    assert answer.json()["series"]["fine.inf"][3:5] == [float("inf"), 1.0]
