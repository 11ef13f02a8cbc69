"""graphite-web's `/tags` routes driven through the real app, with the requests Grafana's
Graphite data source sends from its tag editor and its template variables."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from cyanite_py.api.app import build_app
from cyanite_py.api.config import ApiConfig
from cyanite_py.counters import Registry
from tests.test_functions import World

SERIES = [
    "cpu;dc=eu;host=web01",
    "cpu;dc=eu;host=web02",
    "cpu;dc=us;host=web03",
    "cpu;host=db01",
    "disk.used;dc=eu;host=web01;mount=/var",
    "mem;dc=us;host=web03",
]
RANGE = {"from": "1700000000", "until": "1700003600"}
"""Grafana adds the dashboard's range to every tag request; graphite-web ignores it."""


@pytest.fixture
async def world() -> World:
    world = World()
    for path in SERIES:
        await world.put(path, [1, 2, 3])
    await world.put("servers.web01.cpu", [1, 2, 3])
    return world


def app_client(world: World, **config: Any) -> httpx.AsyncClient:
    app = build_app(world.reader, Registry(), ApiConfig(**config))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://graphite")


@pytest.fixture
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(world) as client:
        yield client


async def get(client: httpx.AsyncClient, route: str, **params: Any) -> Any:
    response = await client.get(route, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


async def test_the_editor_lists_tags_beside_the_first_path_node(
    client: httpx.AsyncClient,
) -> None:
    """The first segment offers `/metrics/find?query=*` and every tag, as `tag: …`."""
    found = await client.post("/metrics/find", data={"query": "*"}, params=RANGE)
    assert [node["text"] for node in found.json()] == ["servers"]
    tags = await get(client, "/tags/autoComplete/tags", **RANGE)
    assert tags == ["dc", "host", "mount", "name"]
    assert await get(client, "/tags/autoComplete/tags", tagPrefix="d", **RANGE) == ["dc"]


async def test_the_editor_completes_values_then_tags_of_what_matches(
    client: httpx.AsyncClient,
) -> None:
    names = await get(client, "/tags/autoComplete/values", tag="name", **RANGE)
    assert names == ["cpu", "disk.used", "mem"]
    assert await get(client, "/tags/autoComplete/values", tag="name", valuePrefix="d") == [
        "disk.used"
    ]
    more = await get(client, "/tags/autoComplete/tags", expr="name=cpu", **RANGE)
    assert more == ["dc", "host"]
    hosts = await get(
        client, "/tags/autoComplete/values", expr=["name=cpu", "dc!=us"], tag="host", **RANGE
    )
    assert hosts == ["db01", "web01", "web02"]
    web = await get(
        client, "/tags/autoComplete/values", expr="name=cpu", tag="host", valuePrefix="web"
    )
    assert web == ["web01", "web02", "web03"]
    dcs = await get(client, "/tags/autoComplete/values", expr="dc!=eu", tag="dc")
    assert dcs == ["us"]  # graphite-web adds `dc!=`, so the lone negative expression works


async def test_template_variables_ask_for_up_to_ten_thousand(client: httpx.AsyncClient) -> None:
    """`tag_values(host, name=cpu)` and `tags(name=cpu)` in a variable's query."""
    hosts = await get(
        client, "/tags/autoComplete/values", expr="name=cpu", tag="host", limit="10000"
    )
    assert hosts == ["db01", "web01", "web02", "web03"]
    assert await get(client, "/tags/autoComplete/tags", expr="name=cpu", limit="10000") == [
        "dc",
        "host",
    ]


async def test_autocompletion_lists_a_hundred_unless_told(world: World) -> None:
    for number in range(150):
        world.index.add([f"many;n=v{number:03d}"])
    async with app_client(world) as client:
        listed = await get(client, "/tags/autoComplete/values", tag="n")
        assert listed == [f"v{number:03d}" for number in range(100)]
        assert len(await get(client, "/tags/autoComplete/values", tag="n", limit="120")) == 120
        assert await get(client, "/tags/autoComplete/values", tag="n", limit="2") == [
            "v000",
            "v001",
        ]
        assert await get(client, "/tags/autoComplete/values", tag="n", limit="0") == []


async def test_tags_and_values_are_listed_with_filters(client: httpx.AsyncClient) -> None:
    assert await get(client, "/tags") == [{"tag": t} for t in ("dc", "host", "mount", "name")]
    assert await get(client, "/tags/") == await get(client, "/tags")
    assert await get(client, "/tags", filter="m|n") == [{"tag": "mount"}, {"tag": "name"}]
    assert await get(client, "/tags", filter="ost") == []  # anchored at the start
    assert await get(client, "/tags", limit="2") == [{"tag": "dc"}, {"tag": "host"}]
    assert await get(client, "/tags/dc") == {
        "tag": "dc",
        "values": [{"value": "eu", "count": 3}, {"value": "us", "count": 2}],
    }
    assert await get(client, "/tags/host", filter="web0[12]", limit="1") == {
        "tag": "host",
        "values": [{"value": "web01", "count": 2}],
    }
    assert await get(client, "/tags/host", filter="x") == {"tag": "host", "values": []}
    assert await get(client, "/tags/nosuch") is None  # graphite-web's null


async def test_series_are_found_by_expressions(client: httpx.AsyncClient) -> None:
    found = await get(client, "/tags/findSeries", expr=["host=~web", "dc!=us"])
    assert found == [
        "cpu;dc=eu;host=web01",
        "cpu;dc=eu;host=web02",
        "disk.used;dc=eu;host=web01;mount=/var",
    ]
    jquery = await client.get("/tags/findSeries", params={"expr[]": ["name=mem"]})
    assert jquery.json() == ["mem;dc=us;host=web03"]
    posted = await client.post("/tags/findSeries", data={"expr": ["name=cpu", "dc="]})
    assert posted.json() == ["cpu;host=db01"]
    pretty = await client.get("/tags/findSeries", params={"expr": "name=mem", "pretty": "1"})
    assert pretty.text == '[\n  "mem;dc=us;host=web03"\n]'


@pytest.mark.parametrize(
    ("route", "params", "message"),
    [
        ("/tags/findSeries", {}, "no tag expressions"),
        ("/tags/findSeries", {"expr": "dc!=eu"}, "at least one tag expression"),
        ("/tags/findSeries", {"expr": "name"}, "invalid tag expression 'name'"),
        ("/tags/findSeries", {"expr": "name=~(cpu"}, "invalid regular expression"),
        ("/tags/findSeries", {"expr": "name=~(a)\\1"}, "invalid regular expression"),
        ("/tags", {"filter": "["}, "filter: invalid regular expression"),
        ("/tags/host", {"filter": "(?=x)"}, "filter: invalid regular expression"),
        ("/tags", {"limit": "ten"}, "limit must be a whole number"),
        ("/tags/dc", {"limit": "-1"}, "limit must not be negative"),
        ("/tags/autoComplete/tags", {"expr": "dc="}, "at least one tag expression"),
        ("/tags/autoComplete/tags", {"limit": "1.5"}, "limit must be a whole number"),
        ("/tags/autoComplete/values", {}, "missing parameter: tag"),
        ("/tags/autoComplete/values", {"tag": "dc", "expr": "x;y"}, "invalid tag expression"),
    ],
)
async def test_bad_parameters_are_400(
    client: httpx.AsyncClient, route: str, params: dict[str, str], message: str
) -> None:
    response = await client.get(route, params=params)
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]


async def test_every_answer_is_bounded(world: World) -> None:
    async with app_client(world, max_tag_series=3, max_tag_results=2) as client:
        refused = await client.get("/tags/findSeries", params={"expr": "name=cpu"})
        assert refused.status_code == 400
        assert "api.max_tag_series" in refused.json()["message"]
        assert await get(client, "/tags/findSeries", expr="dc=us") == [
            "cpu;dc=us;host=web03",
            "mem;dc=us;host=web03",
        ]
        render = await client.get(
            "/render", params={"target": "seriesByTag('name=cpu')", "format": "json"}
        )
        assert render.status_code == 400
        assert "api.max_tag_series" in render.json()["message"]
        assert await get(client, "/tags", limit="100") == [{"tag": "dc"}, {"tag": "host"}]
        assert len((await get(client, "/tags/host"))["values"]) == 2
        assert await get(client, "/tags/autoComplete/values", tag="host") == ["db01", "web01"]
        assert await get(client, "/tags/autoComplete/tags", limit="10000") == ["dc", "host"]


@pytest.mark.parametrize(
    "value",
    ["", " ", "=", "!=~", "~", "\u00e9=\u00e9", "a" * 5000, "(" * 100, "\\", "%", "name=~.*"],
)
async def test_odd_values_never_give_a_5xx(client: httpx.AsyncClient, value: str) -> None:
    routes = {
        "/tags": ["filter", "limit"],
        "/tags/dc": ["filter", "limit"],
        "/tags/findSeries": ["expr", "expr[]"],
        "/tags/autoComplete/tags": ["expr", "tagPrefix", "limit"],
        "/tags/autoComplete/values": ["expr", "tag", "valuePrefix", "limit"],
    }
    for route, names in routes.items():
        for name in names:
            response = await client.get(route, params={name: value, "tag": "dc"})
            assert response.status_code in (200, 400), (route, name, response.text)
            if response.status_code == 400:
                assert response.json()["message"]
