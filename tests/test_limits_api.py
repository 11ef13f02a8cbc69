"""Hostile requests get a bounded answer: a 4xx naming the limit, or a clamped read, never a
500, and the event loop keeps answering /ping while a request evaluates."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import httpx
import pytest
import trio

from cyanite_py.api import graphite
from cyanite_py.api.app import build_app
from cyanite_py.api.config import ApiConfig
from cyanite_py.api.functions.render import to_json
from cyanite_py.api.functions.series import RenderSeries
from cyanite_py.counters import Registry
from tests.test_functions import NOW, T0, World

WEEK = 7 * 86400


@pytest.fixture
async def world() -> World:
    world = World()
    await world.put("a.b1", [1, 2, 3, 4, 5])
    await world.put("a.b2", [10, None, 30, 40, None])
    return world


def client_for(world: World, **config: Any) -> httpx.AsyncClient:
    app = build_app(world.reader, Registry(), ApiConfig(**config))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cyanite")


@pytest.fixture
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(world) as client:
        yield client


def assert_refused(response: httpx.Response, *named: str) -> None:
    assert response.status_code == 400, response.text
    text = response.json()["message"]
    for name in named:
        assert name in text, text


async def test_a_read_far_into_the_future_is_cut_at_max_future(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/metrics", params={"path": "a.b1", "from": "-1h", "to": "20000000000"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["to"] <= NOW + 600 + 10
    assert len(body["series"]["a.b1"]) <= (3600 + 600) // 10 + 2


async def test_a_read_from_the_epoch_starts_at_the_retention(client: httpx.AsyncClient) -> None:
    for route, params in (
        ("/metrics", {"path": "a.*", "from": "0"}),
        ("/render", {"target": "a.b1", "from": "0", "format": "raw"}),
    ):
        response = await client.get(route, params=params)
        assert response.status_code == 200, response.text
    metrics = (await client.get("/metrics", params={"path": "a.b1", "from": "0"})).json()
    assert metrics["from"] >= NOW - WEEK - 10
    assert len(metrics["series"]["a.b1"]) <= WEEK // 10 + 2
    assert metrics["series"]["a.b1"][(T0 + 10 - metrics["from"]) // 10] == 1


async def test_a_read_over_max_points_is_refused_before_it_is_made(world: World) -> None:
    async with client_for(world, max_points=500) as client:
        metrics = await client.get("/metrics", params={"path": "a.*", "from": "-1h"})
        assert_refused(metrics, "api.max_points", "500")
        render = await client.get("/render", params={"target": "sumSeries(a.*)", "from": "-1h"})
        assert_refused(render, "api.max_points")
        few = await client.get("/render", params={"target": "a.b1", "from": "-1h"})
        assert few.status_code == 200


@pytest.mark.parametrize(
    ("route", "params"),
    [
        ("/metrics", {"path": "a.b1", "from": "-1h", "to": "1e25"}),
        ("/metrics", {"path": "a.b1", "from": "-1h", "to": "1" + "0" * 25}),
        ("/render", {"target": "a.b1", "until": "1" + "0" * 25}),
        ("/render", {"target": "a.b1", "from": "1/1/99999999999999999999"}),
        ("/metrics", {"path": "a.b1", "from": "1/1/99999999999999999999"}),
        ("/metrics", {"path": "a.b1", "from": "-1000000000y"}),
        ("/render", {"target": "a.b1", "from": "-1000000000y"}),
        ("/render", {"target": "a.b1", "maxDataPoints": "inf"}),
        ("/render", {"target": "a.b1", "maxDataPoints": "1e400"}),
        ("/render", {"target": "a.b1", "tz": "Europe/" + "x" * 5000}),
        ("/render", {"target": "a.b1" + "|absolute()" * 3000}),
        ("/render", {"target": "movingAverage(a.b1,'1000000y')"}),
        ("/render", {"target": "movingAverage(a.b1,100000000000)"}),
        ("/render", {"target": "summarize(a.b1,'1s')", "from": "-7d"}),
        ("/render", {"target": "aliasSub(a.b1,'(a)\\1','x')"}),
        ("/render", {"target": "grep(a.b1,'[z-a]')"}),
    ],
)
async def test_bad_input_is_a_400_with_a_message(
    world: World, route: str, params: dict[str, str]
) -> None:
    async with client_for(world, max_points=100_000) as client:
        response = await client.get(route, params=params)
    assert response.status_code == 400, response.text
    assert response.json()["message"]


async def test_a_shift_beyond_the_calendar_answers(client: httpx.AsyncClient) -> None:
    params = {"target": "timeShift(a.b1,'30000y',alignDst=true)", "format": "csv"}
    response = await client.get("/render", params={**params, "tz": "Europe/Paris"})
    assert response.status_code == 200, response.text
    assert response.text.startswith('"timeShift(a.b1, ""-30000y"")"')


async def test_a_reversed_class_matches_nothing(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics/find", params={"query": "[z-a]"})
    assert response.status_code == 200, response.text
    assert response.json() == []
    response = await client.get("/metrics/find", params={"query": "a.b[2-1]"})
    assert response.json() == []


async def test_braces_spelling_out_too_many_names_are_refused(client: httpx.AsyncClient) -> None:
    glob = "a." + "{b,c}" * 20  # a million names from a 100-byte query
    for route, params in (
        ("/metrics/find", {"query": glob}),
        ("/paths", {"query": glob}),
        ("/metrics/expand", {"query": glob}),
        ("/render", {"target": glob}),
        ("/metrics", {"path": glob, "from": "-1h"}),
    ):
        response = await client.get(route, params=params)
        assert_refused(response, "api.max_glob_alternatives")


async def test_a_glob_matching_too_many_nodes_is_refused(client: httpx.AsyncClient) -> None:
    world = World()
    world.index.config = type(world.index.config)(max_matches=3)
    world.index.add([f"m{i}.x" for i in range(5)])
    async with client_for(world) as client:
        response = await client.get("/metrics/find", params={"query": "*.x"})
        assert_refused(response, "index.max_matches")
        response = await client.get("/metrics/find", params={"query": "m[0-2].x"})
        assert response.status_code == 200


async def test_a_catastrophic_regex_is_matched_in_linear_time(world: World) -> None:
    """With a backtracking engine this never finishes: `(a+)+$` over a long run of a."""
    long_name = "z." + "a" * 20_000 + "!"
    await world.put(long_name, [1, 2, 3, 4, 5])
    async with client_for(world) as client:
        for target in ("grep(z.*,'(a+)+$')", "exclude(z.*,'(a+)+$')", "aliasSub(z.*,'(a+)+$','x')"):
            response = await client.get(
                "/render", params={"target": target, "from": str(T0), "until": str(T0 + 50)}
            )
            assert response.status_code == 200, response.text
        grep = await client.get(
            "/render", params={"target": "grep(z.*,'(a+)+!$')", "from": str(T0), "format": "raw"}
        )
        assert grep.text.startswith(long_name + ",")


async def test_a_glob_with_many_stars_over_a_long_node_answers(world: World) -> None:
    """Cubic with a backtracking matcher: `*a*a*b` over a 16 KiB node."""
    world.index.add(["x." + "a" * 16_000, "x.aab"])
    async with client_for(world) as client:
        response = await client.get("/metrics/find", params={"query": "x.*a*a*b"})
    assert [node["text"] for node in response.json()] == ["aab"]


def blocking_to_json(
    entered: threading.Event, release: threading.Event
) -> Callable[[Sequence[RenderSeries], int | None, bool], bytes]:
    """`to_json` that first signals it started, then waits (in its thread) to be released."""

    def blocking(data: Sequence[RenderSeries], max_points: int | None, no_nulls: bool) -> bytes:
        entered.set()
        release.wait(timeout=10)
        return to_json(data, max_points, no_nulls)

    return blocking


async def test_ping_answers_while_a_render_is_evaluating(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    monkeypatch.setattr(graphite, "to_json", blocking_to_json(entered, release))
    order: list[str] = []
    async with client_for(world) as client:

        async def render() -> None:
            response = await client.get("/render", params={"target": "a.*"})
            order.append(f"render {response.status_code}")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(render)
            assert await trio.to_thread.run_sync(entered.wait, 10)
            ping = await client.get("/ping")
            order.append(f"ping {ping.status_code}")
            release.set()
    assert order == ["ping 200", "render 200"]


async def test_a_request_past_the_timeout_answers_503(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    monkeypatch.setattr(graphite, "to_json", blocking_to_json(entered, release))
    registry = Registry()
    app = build_app(world.reader, registry, ApiConfig(timeout=1))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cyanite") as client:
        response = await client.get("/render", params={"target": "a.*"})
        release.set()
    assert response.status_code == 503
    assert "api.timeout" in response.json()["message"]
    assert registry.value("api_requests_timed_out") == 1


async def test_jsonp_is_off_unless_enabled_and_answers_say_nosniff(world: World) -> None:
    params = {"target": "a.b1", "jsonp": "show"}
    async with client_for(world) as client:
        refused = await client.get("/render", params=params)
        assert_refused(refused, "api.jsonp")
        assert refused.headers["x-content-type-options"] == "nosniff"
        assert (await client.get("/ping")).headers["x-content-type-options"] == "nosniff"
    async with client_for(world, jsonp=True) as client:
        wrapped = await client.get("/render", params=params)
        assert wrapped.text.startswith("show([")
        assert_refused(await client.get("/render", params={**params, "jsonp": "x);alert(1"}))
