"""A real graphite-web 1.1.10 with our server in its CLUSTER_SERVERS: what it finds and
renders is what was written to our server, through the pickle answers and through the
msgpack ones.

graphite-web is installed from PyPI into `.cache/graphite-web-1.1.10` on first use (about
a minute, once); each case then starts it on a free port (a second or two).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import graphite_web
from tests.helpers import Running, now, running_server, server_config

pytestmark = pytest.mark.skipif(
    graphite_web.missing() is not None, reason=graphite_web.missing() or ""
)

RULES = {"rules": {"default": ["10s:1h", "1m:1d"]}}


@pytest.fixture(scope="module")
def python() -> Path:
    return graphite_web.install()


@pytest.fixture
def front(python: Path, tmp_path: Path) -> Iterator[graphite_web.GraphiteWeb]:
    """graphite-web, configured by the test before it starts it; stopped afterwards."""
    web = graphite_web.GraphiteWeb(python, tmp_path, "")
    yield web
    web.stop()


async def written(running: Running) -> int:
    """`web.a.cpu` (1, 2, 3) and `web.b.cpu` (10, no point, 30) at 10 s from a minute
    boundary two minutes ago; returns the time to ask from (`from` is exclusive: one step
    before the first)."""
    first = now() - now() % 60 - 120
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


def cluster_settings(running: Running, fmt: str, post: bool) -> str:
    server = f"127.0.0.1:{running.bound.api}?format={fmt}"
    return (
        f"CLUSTER_SERVERS = [{server!r}]\n"
        "STORAGE_FINDERS = ('graphite.finders.remote.RemoteFinder',)\n"
        f"REMOTE_STORE_USE_POST = {post}\n"
        "FIND_TIMEOUT = 10.0\nFETCH_TIMEOUT = 10.0\n"
    )


def datapoints(answer: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {series["target"]: series["datapoints"] for series in answer}


@pytest.mark.parametrize(("fmt", "post"), [("pickle", False), ("msgpack", True)])
async def test_graphite_web_finds_and_renders_what_our_server_holds(
    front: graphite_web.GraphiteWeb, tmp_path: Path, fmt: str, post: bool
) -> None:
    async with running_server(server_config(engine=RULES)) as running:
        start = await written(running)
        (tmp_path / "cyanite_graphite_settings.py").write_text(
            (tmp_path / "cyanite_graphite_settings.py").read_text()
            + cluster_settings(running, fmt, post)
        )
        front.migrate()
        async with httpx.AsyncClient(base_url=front.start(), timeout=30) as client:
            found = await client.get("/metrics/find", params={"query": "web.*"})
            assert found.status_code == 200, front.log()
            assert [(n["id"], n["leaf"]) for n in found.json()] == [("web.a", 0), ("web.b", 0)]
            # treejson lists a name once: both leaves are `cpu`.
            leaves = await client.get("/metrics/find", params={"query": "web.*.cpu"})
            assert [(n["id"], n["leaf"]) for n in leaves.json()] == [("web.*.cpu", 1)]
            expanded = await client.get("/metrics/expand", params={"query": "web.*.cpu"})
            assert expanded.json() == {"results": ["web.a.cpu", "web.b.cpu"]}

            window = {"from": str(start), "until": str(start + 30), "format": "json"}
            targets = ["web.*.cpu", "sumSeries(web.*.cpu)"]
            rendered = await client.get("/render", params={**window, "target": targets})
            assert rendered.status_code == 200, front.log()
            first = start + 10
            assert datapoints(rendered.json()) == {
                "web.a.cpu": [[1.0, first], [2.0, first + 10], [3.0, first + 20]],
                "web.b.cpu": [[10.0, first], [None, first + 10], [30.0, first + 20]],
                "sumSeries(web.*.cpu)": [[11.0, first], [2.0, first + 10], [33.0, first + 20]],
            }
            ours = await running.http.get("/render", params={**window, "target": targets})
            assert datapoints(ours.json()) == datapoints(rendered.json())

            # Consolidating 3 values into buckets of 2 (20 s) for maxDataPoints: ours are
            # labelled by their first value; graphite-web keeps one value too many before
            # its first bucket, so it labels (2, 3) at the time of 3.
            consolidated = {**window, "target": "web.a.cpu", "maxDataPoints": "2"}
            theirs = await client.get("/render", params=consolidated)
            ours = await running.http.get("/render", params=consolidated)
            assert datapoints(ours.json()) == {"web.a.cpu": [[1.5, first], [3.0, first + 20]]}
            assert datapoints(theirs.json()) == {"web.a.cpu": [[2.5, first + 20]]}

        # graphite-web asked our server, in the cluster's format, on the cluster's routes.
        requests = running.registry.counter
        assert requests("api_requests", "", route="/metrics/find/", status="200").value >= 3
        assert requests("api_requests", "", route="/render/", status="200").value >= 1
