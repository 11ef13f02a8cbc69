"""Every route, driven with generated parameters at the edges, answers without a 5xx.

Numbers at the edges of float and int64, odd Unicode, long values, nested and piped
targets, in query strings and in form bodies: whatever the client sends, the answer is
a 2xx, or a 4xx with a JSON message, and it comes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cyanite_py.api.app import build_app
from cyanite_py.api.config import ApiConfig
from cyanite_py.api.functions import FUNCTIONS
from cyanite_py.counters import Registry
from tests.test_functions import World

EDGES = [
    "0", "-0", "1", "-1", "1e25", "-1e25", "1e400", "-1e400", "inf", "-inf", "nan",
    str(2**63), str(2**63 - 1), str(-(2**63)), str(2**64), "1" + "0" * 30, "0x10",
    "now", "-1d", "-1000000000y", "+1h", "noon+yesterday", "20240101", "1/1/99999999",
    "12:00_99991231", "jan32", "-1mon", "", " ", "%", "\x00", "\udc80", "é", "🙂",
]  # fmt: skip
GLOBS = ["a.*", "a.b1", "*", "*.*", "[z-a]", "{a,b}.*", "a.{b1,b2}", "a.[!x]?", "{", "[", "a..b"]

values = st.one_of(
    st.sampled_from(EDGES),
    st.integers(-(2**70), 2**70).map(str),
    st.floats().map(repr),
    st.text(max_size=40),
    st.text(alphabet="ab*?[]{},.!-", max_size=30),
    st.sampled_from(GLOBS),
    st.integers(1000, 6000).map(lambda n: "x" * n),
)


def calls(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    arguments = st.lists(st.one_of(children, values.map(repr)), max_size=4)
    return st.builds(
        lambda name, args: f"{name}({','.join(args)})",
        st.sampled_from(sorted(FUNCTIONS)),
        arguments,
    )


targets = st.recursive(st.sampled_from(GLOBS), calls, max_leaves=8)
piped = st.builds(
    lambda base, names: base + "".join(f"|{name}()" for name in names),
    targets,
    st.lists(st.sampled_from(sorted(FUNCTIONS)), max_size=4),
)
ROUTES = {
    "/ping": [],
    "/paths": ["query"],
    "/metrics": ["path", "from", "to", "agg"],
    "/render": ["target", "from", "until", "format", "maxDataPoints", "tz", "now",
                "xFilesFactor", "noNullPoints", "jsonp", "rawData"],
    "/metrics/find": ["query", "format", "wildcards"],
    "/metrics/expand": ["query", "leavesOnly", "groupByExpr"],
    "/functions": ["group", "grouped"],
    "/version": [],
    "/tags/autoComplete/tags": ["tagPrefix"],
}  # fmt: skip


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, list[tuple[str, str]]]:
    route = draw(st.sampled_from(sorted(ROUTES)))
    names = ROUTES[route]
    params: list[tuple[str, str]] = []
    if names:
        for name in draw(st.lists(st.sampled_from(names), max_size=6)):
            value = draw(st.one_of(targets, piped) if name == "target" else values)
            params.append((name, value))
    method = draw(st.sampled_from(["GET", "POST"])) if route == "/render" else "GET"
    return route, method, params


@asynccontextmanager
async def client() -> AsyncIterator[httpx.AsyncClient]:
    world = World()
    await world.put("a.b1", [1, 2, 3, 4, 5])
    await world.put("a.b2", [10, None, 30, 40, None])
    app = build_app(world.reader, Registry(), ApiConfig(max_points=2_000_000))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cyanite") as client:
        yield client


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(request=requests())
async def test_no_route_answers_a_5xx(request: tuple[str, str, list[tuple[str, str]]]) -> None:
    route, method, params = request
    safe = tuple((name, value.encode("utf-8", "replace").decode()) for name, value in params)
    with trio.fail_after(30):
        async with client() as http:
            if method == "POST":
                response = await http.post(route, data=dict(safe))
            else:
                response = await http.get(route, params=safe)
    assert response.status_code < 500, (route, params, response.text)
    if response.status_code >= 400:
        assert response.json()["message"]
