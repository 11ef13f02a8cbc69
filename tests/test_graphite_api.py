"""graphite-web's API driven in-process through the real app, with Grafana's own requests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from cyanite_py.api.app import build_app
from cyanite_py.counters import Registry
from cyanite_py.index.base import IndexUnavailable, Node
from cyanite_py.query import Reader
from cyanite_py.store.base import StoreUnavailable
from tests.test_functions import NOW, T0, World

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
AGGREGATIONS = sorted(
    [
        "average",
        "avg",
        "avg_zero",
        "count",
        "current",
        "diff",
        "last",
        "max",
        "median",
        "min",
        "multiply",
        "range",
        "rangeOf",
        "stddev",
        "sum",
        "total",
    ]
)
"""graphite-web's aggregation functions and their aliases, as its `/functions` lists them."""


@pytest.fixture
async def world() -> World:
    world = World()
    await world.put("a.b1", [1, 2, 3, 4, 5])
    await world.put("a.b2", [10, None, 30, 40, None])
    await world.put("g.h1.x", [1, 2, 3, 4, 5])
    await world.put("g.h1.y", [10, 20, 30, 40, 50])
    await world.put("g.h2.x", [7, 7, 7, 7, 7])
    return world


@pytest.fixture
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(world.reader, Registry())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://graphite") as client:
        yield client


async def test_grafana_panel_query(client: httpx.AsyncClient) -> None:
    """A panel: the target wrapped to carry the refId, the last 6 hours, maxDataPoints."""
    response = await client.post(
        "/render",
        content="target=aliasSub(a.*%2C%20'(%5E.*%24)'%2C%20'%5C1%20A')"
        "&from=-6h&until=now&format=json&maxDataPoints=100",
        headers=FORM,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    # 2160 points of 10 s in 6 h: 22 per point, buckets of 220 s from the first multiple
    # of 220 s in the range; the five points T0+10 ... T0+50 all fall in the bucket 1699995440
    first = NOW - 21600 + 20
    times = list(range(first, NOW + 11, 220))
    assert len(times) == 99
    at = times.index(1699995440)

    def points(value: float) -> list[list[float | int | None]]:
        return [[value if index == at else None, time] for index, time in enumerate(times)]

    assert response.json() == [
        {"target": "a.b1 A", "tags": {"name": "a.b1"}, "datapoints": points(3.0)},
        {"target": "a.b2 A", "tags": {"name": "a.b2"}, "datapoints": points(80 / 3)},
    ]


async def test_grafana_panel_query_with_few_points(client: httpx.AsyncClient) -> None:
    """A short range under maxDataPoints comes back point for point."""
    response = await client.post(
        "/render",
        data={
            "target": "aliasSub(sumSeries(a.*), '(^.*$)', '\\1 B')",
            "from": str(T0),
            "until": str(T0 + 50),
            "format": "json",
            "maxDataPoints": "1000",
        },
    )
    assert response.json() == [
        {
            "target": "sumSeries(a.*) B",
            "tags": {"name": "sumSeries(a.*)", "aggregatedBy": "sum"},
            "datapoints": [
                [11.0, T0 + 10],
                [2.0, T0 + 20],
                [33.0, T0 + 30],
                [44.0, T0 + 40],
                [5.0, T0 + 50],
            ],
        }
    ]


async def test_grafana_save_and_test(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/render",
        data={
            "target": "constantLine(100)",
            "from": "-1h",
            "until": "now",
            "format": "json",
            "maxDataPoints": "300",
        },
    )
    assert response.status_code == 200
    assert response.json() == [
        {
            "target": "100.0",
            "tags": {"name": "100.0"},
            "datapoints": [[100.0, NOW - 3600], [100.0, NOW - 1800], [100.0, NOW]],
        }
    ]


async def test_grafana_query_editor_browses_the_tree(client: httpx.AsyncClient) -> None:
    functions = (await client.get("/functions")).json()
    assert functions["sumSeries"] == {
        "name": "sumSeries",
        "function": "sumSeries(*seriesLists)",
        "description": "The sum of the series at each point.",
        "module": "graphite.render.functions",
        "group": "Combine",
        "params": [
            {"name": "seriesLists", "type": "seriesList", "required": True, "multiple": True}
        ],
    }
    assert functions["summarize"]["params"][2] == {
        "name": "func",
        "type": "aggFunc",
        "default": "sum",
        "options": AGGREGATIONS,
    }
    root = await client.post("/metrics/find", content="query=*", headers=FORM)
    assert root.json() == [
        {"text": name, "id": name, "leaf": 0, "expandable": 1, "allowChildren": 1, "context": {}}
        for name in ("a", "g")
    ]
    hosts = await client.post("/metrics/find", data={"query": "g.*"})
    assert [entry["id"] for entry in hosts.json()] == ["g.h1", "g.h2"]
    leaves = await client.post("/metrics/find", data={"query": "g.h1.*"})
    assert leaves.json() == [
        {
            "text": n,
            "id": f"g.h1.{n}",
            "leaf": 1,
            "expandable": 0,
            "allowChildren": 0,
            "context": {},
        }
        for n in ("x", "y")
    ]


async def test_template_variables_expand(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics/expand", params={"query": "g.*.*"})
    assert response.json() == {"results": ["g.h1.x", "g.h1.y", "g.h2.x"]}
    response = await client.get(
        "/metrics/expand", params=[("query", "g.*"), ("query", "a.*"), ("groupByExpr", "1")]
    )
    assert response.json() == {"results": {"g.*": ["g.h1", "g.h2"], "a.*": ["a.b1", "a.b2"]}}
    response = await client.get("/metrics/expand", params={"query": "g.*", "leavesOnly": "1"})
    assert response.json() == {"results": []}


async def test_find_completer_and_wildcards(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics/find", params={"query": "g.h", "format": "completer"})
    assert response.json() == {
        "metrics": [
            {"path": "g.h1.", "name": "h1", "is_leaf": "0"},
            {"path": "g.h2.", "name": "h2", "is_leaf": "0"},
        ]
    }
    response = await client.get("/metrics/find", params={"query": "a.*", "wildcards": "1"})
    assert [entry["id"] for entry in response.json()] == ["a.*", "a.b1", "a.b2"]


async def test_render_get_with_target_list_csv_and_raw(client: httpx.AsyncClient) -> None:
    params = [("target[]", "a.b1"), ("from", str(T0)), ("until", str(T0 + 20))]
    csv = await client.get("/render", params=[*params, ("format", "csv")])
    assert csv.text == "a.b1,2023-11-14 21:00:10,1.0\r\na.b1,2023-11-14 21:00:20,2.0\r\n"
    raw = await client.get("/render", params=[("target", "a.b2"), *params[1:], ("rawData", "1")])
    assert raw.text == f"a.b2,{T0 + 10},{T0 + 30},10|10.0,None\n"


async def test_no_null_points_and_defaults(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/render", params={"target": "a.b2", "format": "json", "noNullPoints": "1"}
    )
    assert response.json() == [
        {
            "target": "a.b2",
            "tags": {"name": "a.b2"},
            "datapoints": [[10.0, T0 + 10], [30.0, T0 + 30], [40.0, T0 + 40]],
        }
    ]
    assert (await client.get("/render", params={"format": "json"})).json() == []


async def test_version_and_tags(client: httpx.AsyncClient) -> None:
    version = await client.get("/version")
    assert (version.status_code, version.text) == (200, "1.1.10")
    # No tagged series here: the tag editor's completions are empty.
    tags = await client.get("/tags/autoComplete/tags", params={"tagPrefix": "x"})
    assert tags.json() == []
    values = await client.get("/tags/autoComplete/values", params={"tag": "x"})
    assert values.json() == []
    # graphite-web asks for the tag whose values to complete.
    untold = await client.get("/tags/autoComplete/values", params={"valuePrefix": "x"})
    assert untold.status_code == 400
    assert "tag" in untold.json()["message"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"target": "nosuch(a.b1)"}, "unknown function 'nosuch'"),
        ({"target": "sumSeries(a.b1"}, "position 14"),
        ({"target": "scale(a.b1, 'x')"}, 'parameter "factor" of function "scale"'),
        ({"target": "a.b1", "from": "-5m"}, "'m'"),
        ({"target": "a.b1", "from": "now", "until": "now"}, "empty time range"),
        ({"target": "a.b1", "format": "pdf"}, "format 'pdf'"),
        ({"target": "a.b1", "maxDataPoints": "many"}, "maxDataPoints"),
        ({"target": "a.b1", "tz": "Nowhere/Land"}, "Nowhere/Land"),
    ],
)
async def test_bad_render_parameters_are_400(
    client: httpx.AsyncClient, params: dict[str, str], message: str
) -> None:
    response = await client.get("/render", params={"format": "json", **params})
    assert response.status_code == 400
    assert message in response.json()["message"]


async def test_bad_browse_parameters_are_400(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics/find")).status_code == 400
    assert (
        await client.get("/metrics/find", params={"query": "*", "format": "x"})
    ).status_code == 400
    assert (await client.get("/metrics/expand")).status_code == 400
    missing = await client.get("/functions/nosuch")
    assert (missing.status_code, missing.json()) == (404, {"message": "function not found: nosuch"})


class _AwayIndex:
    async def find(self, pattern: str) -> list[Node]:
        raise IndexUnavailable("index unreachable")


class _AwayStore:
    async def read(self, *args: object) -> dict[str, object]:
        raise StoreUnavailable("store unreachable")


@pytest.mark.parametrize("away", ["index", "store"])
async def test_backend_away_is_503(world: World, away: str) -> None:
    store = _AwayStore() if away == "store" else world.store
    index = _AwayIndex() if away == "index" else world.index
    reader = Reader(store, index, world.engine, clock=lambda: NOW)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=build_app(reader, Registry()))
    async with httpx.AsyncClient(transport=transport, base_url="http://graphite") as client:
        response = await client.get("/render", params={"target": "a.*", "format": "json"})
        assert response.status_code == 503
        assert f"{away} unreachable" in response.json()["message"]
        if away == "index":
            found = await client.get("/metrics/find", params={"query": "*"})
            assert found.status_code == 503


async def test_functions_offer_grafana_its_drop_downs(client: httpx.AsyncClient) -> None:
    """Aggregation parameters list their choices; an infinite default reads 1e9999."""
    response = await client.get("/functions")
    assert b'{"name":"limit","type":"intOrInf","default":1e9999}' in response.content
    functions = response.json()
    assert functions["keepLastValue"]["function"] == "keepLastValue(seriesList, limit=inf)"
    callback = functions["groupByNode"]["params"][2]
    assert callback["type"] == "aggOrSeriesFunc"
    assert {"sum", "average", "sumSeries", "multiplySeries", "sumSeriesWithWildcards"} <= set(
        callback["options"]
    )
    assert callback["options"] == sorted(callback["options"])
    assert functions["aggregate"]["params"][1] == {
        "name": "func",
        "type": "aggFunc",
        "required": True,
        "options": AGGREGATIONS,
    }
    assert functions["filterSeries"]["params"][2]["options"] == ["!=", "<", "<=", "=", ">", ">="]
    assert functions["sum"]["function"] == "sum(*seriesLists)"
    assert functions["movingWindow"]["params"][1]["suggestions"][:3] == [5, 7, 10]
    assert functions["round"]["params"][1] == {"name": "precision", "type": "integer", "default": 0}
    single = await client.get("/functions/keepLastValue")
    assert b'"default":1e9999' in single.content
    grouped = (await client.get("/functions", params={"grouped": "1"})).json()
    assert "cactiStyle" in grouped["Special"]
    assert grouped["Graph"]["color"]["params"][1] == {
        "name": "theColor",
        "type": "string",
        "required": True,
    }


async def test_completer_lists_a_leaf_that_is_a_branch_twice(
    world: World, client: httpx.AsyncClient
) -> None:
    """As graphite-web: the branch (path ending in a dot) and the leaf, ordered by name."""
    await world.put("g.h1", [1])
    response = await client.get("/metrics/find", params={"query": "g.h", "format": "completer"})
    assert response.json() == {
        "metrics": [
            {"path": "g.h1.", "name": "h1", "is_leaf": "0"},
            {"path": "g.h1", "name": "h1", "is_leaf": "1"},
            {"path": "g.h2.", "name": "h2", "is_leaf": "0"},
        ]
    }
    response = await client.get("/metrics/find", params={"query": "g.*.", "format": "completer"})
    assert [entry["path"] for entry in response.json()["metrics"]] == [
        "g.h1.x",
        "g.h2.x",
        "g.h1.y",
    ]
