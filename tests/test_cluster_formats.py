"""`format=pickle` and `format=msgpack`, as a graphite-web 1.1 front end asks a server in
its CLUSTER_SERVERS, on a real server over HTTP. The whole round trip through a real
graphite-web is in test_graphite_web_cluster.py."""

from __future__ import annotations

import io
import pickle
from typing import Any

import msgpack
import pytest
import urllib3

from tests.helpers import Running, now, running_server, server_config

RULES = {"rules": {"default": ["10s:1h", "1m:1d"]}}
INFO_KEYS = {
    "name",
    "start",
    "end",
    "step",
    "values",
    "pathExpression",
    "valuesPerPoint",
    "consolidationFunc",
    "xFilesFactor",
}


class PlainUnpickler(pickle.Unpickler):
    """Refuses every class and function, as graphite-web's restricted unpickler refuses
    all but its own few: the answer must be plain data."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"the answer names {module}.{name}")


def decode(response: Any) -> Any:
    """The answer as graphite-web's remote finder decodes it: by its content type."""
    assert response.status_code == 200, response.text
    if response.headers["content-type"] == "application/x-msgpack":
        return msgpack.unpackb(response.content, raw=False)
    assert response.headers["content-type"] == "application/pickle"
    return PlainUnpickler(io.BytesIO(response.content)).load()


async def written(running: Running) -> int:
    """Two series, `web.a.cpu` (1, 2, 3) and `web.b.cpu` (10, no point, 30), 10 s apart,
    ending a minute ago; returns the time to ask from (graphite's `from` is exclusive: the
    first window starts one step later)."""
    first = now() - now() % 10 - 60
    lines = [
        f"web.a.cpu 1 {first}",
        f"web.a.cpu 2 {first + 10}",
        f"web.a.cpu 3 {first + 20}",
        f"web.b.cpu 10 {first}",
        f"web.b.cpu 30 {first + 20}",
    ]
    await running.send_lines("\n".join(lines) + "\n")
    await running.until("engine_points", 5)
    return first - 10


@pytest.mark.parametrize("fmt", ["pickle", "msgpack"])
async def test_render_answers_each_series_as_graphite_web_describes_it(fmt: str) -> None:
    async with running_server(server_config(engine=RULES)) as running:
        first = await written(running)
        params = {
            "local": "1",
            "format": fmt,
            "noCache": "1",
            "from": str(first),
            "until": str(first + 39),
            "target": ["web.*.cpu", "web.a.cpu"],
            "now": str(now()),
        }
        series = decode(await running.http.get("/render/", params=params))
        assert [(s["name"], s["pathExpression"]) for s in series] == [
            ("web.a.cpu", "web.*.cpu"),
            ("web.b.cpu", "web.*.cpu"),
            ("web.a.cpu", "web.a.cpu"),
        ]
        a, b, _ = series
        assert set(a) == INFO_KEYS
        assert (a["start"], a["step"], a["valuesPerPoint"]) == (first + 10, 10, 1)
        assert a["consolidationFunc"] == "average"
        assert a["end"] == a["start"] + a["step"] * len(a["values"])
        assert a["values"][:3] == [1.0, 2.0, 3.0]
        assert b["values"][:3] == [10.0, None, 30.0]


async def test_the_old_pickle_parameter_asks_for_a_pickle() -> None:
    async with running_server(server_config(engine=RULES)) as running:
        first = await written(running)
        params = {"pickle": "true", "target": "web.a.cpu", "from": str(first)}
        [series] = decode(await running.http.get("/render", params=params))
        assert series["values"][:3] == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("fmt", ["pickle", "msgpack"])
async def test_render_takes_the_multipart_post_of_graphite_webs_cluster_client(
    fmt: str,
) -> None:
    """REMOTE_STORE_USE_POST: urllib3 posts the fields as multipart/form-data."""
    async with running_server(server_config(engine=RULES)) as running:
        first = await written(running)
        fields = [("format", fmt), ("from", str(first)), ("target", "web.b.cpu")]
        body, content_type = urllib3.encode_multipart_formdata(fields)
        response = await running.http.post(
            "/render/", content=body, headers={"Content-Type": content_type}
        )
        [series] = decode(response)
        assert series["values"][:3] == [10.0, None, 30.0]
        bad = await running.http.post(
            "/render/", content=b"--x\r\n", headers={"Content-Type": "multipart/form-data"}
        )
        assert bad.status_code == 400


@pytest.mark.parametrize("fmt", ["pickle", "msgpack"])
async def test_find_answers_nodes_with_the_interval_a_leaf_may_hold(fmt: str) -> None:
    async with running_server(server_config(engine=RULES)) as running:
        await written(running)
        await running.send_lines(f"web.a {1} {now()}\n")  # web.a: a branch and a leaf
        await running.until("engine_points", 6)
        params = {"local": "1", "format": fmt, "query": "web.*"}
        before = now()
        nodes = decode(await running.http.get("/metrics/find/", params=params))
        after = now()
        assert [(node["path"], node["is_leaf"]) for node in nodes] == [
            ("web.a", False),
            ("web.a", True),
            ("web.b", False),
        ]
        [(start, end)] = nodes[1]["intervals"]
        assert before <= end <= after
        assert end - start == 86400  # the longest retention of the rules
        leaves = decode(
            await running.http.get("/metrics/find", params={**params, "query": "web.*.cpu"})
        )
        assert [node["path"] for node in leaves] == ["web.a.cpu", "web.b.cpu"]


async def test_an_unknown_format_names_the_ones_served() -> None:
    async with running_server(server_config()) as running:
        render = await running.http.get("/render", params={"target": "x", "format": "yaml"})
        find = await running.http.get("/metrics/find", params={"query": "x", "format": "yaml"})
        assert render.status_code == find.status_code == 400
        assert "pickle or msgpack" in render.json()["message"]
        assert "pickle or msgpack" in find.json()["message"]
