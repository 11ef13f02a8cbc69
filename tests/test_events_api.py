"""graphite-web's events API on a real server over HTTP, as Grafana and scripts use it."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import Running, running_server, server_config

T0 = 1_700_000_000


async def post(running: Running, event: Any) -> httpx.Response:
    content = event if isinstance(event, bytes) else httpx.Request("POST", "/", json=event).content
    return await running.http.post("/events/", content=content)


async def get_data(running: Running, **params: str) -> list[dict[str, Any]]:
    response = await running.http.get("/events/get_data", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    found: list[dict[str, Any]] = response.json()
    return found


def whats(events: list[dict[str, Any]]) -> list[str]:
    return [event["what"] for event in events]


async def test_a_posted_event_is_listed_as_graphite_web_lists_it() -> None:
    async with running_server(server_config()) as running:
        event = {"what": "deploy 1.2", "tags": ["deploy", "web"], "data": "notes", "when": T0}
        response = await post(running, event)
        assert response.status_code == 200, response.text
        event_id = response.json()["id"]
        found = await get_data(running, **{"from": str(T0 - 60), "until": str(T0 + 60)})
        assert found == [
            {
                "when": T0,
                "what": "deploy 1.2",
                "data": "notes",
                "tags": ["deploy", "web"],
                "id": event_id,
            }
        ]
        assert list(found[0]) == ["when", "what", "data", "tags", "id"]
        assert await get_data(running, **{"from": str(T0 + 1), "until": str(T0 + 60)}) == []
        assert running.registry.total("api_events_added") == 1


async def test_an_event_without_when_is_now_and_found_by_relative_times() -> None:
    async with running_server(server_config()) as running:
        assert (await post(running, {"what": "now", "tags": "a b"})).status_code == 200
        # What Grafana sends for the last hour of a dashboard.
        [found] = await get_data(running, **{"from": "-1h", "until": "now"})
        assert found["tags"] == ["a", "b"]
        assert abs(found["when"] - running.server.reader.now()) <= 2
        assert await get_data(running, **{"from": "-2h", "until": "-1h"}) == []


async def test_tags_select_as_graphite_web_does() -> None:
    async with running_server(server_config()) as running:
        for what, tags in (("a", ["foo"]), ("b", ["bar"]), ("c", ["foo", "bar"]), ("d", [])):
            await post(running, {"what": what, "tags": tags, "when": T0})
        window = {"from": str(T0 - 1), "until": str(T0 + 1)}
        assert whats(await get_data(running, **window)) == ["a", "b", "c", "d"]
        assert whats(await get_data(running, **window, tags="foo")) == ["a", "c"]
        assert whats(await get_data(running, **window, tags="foo bar")) == ["c"]
        assert whats(await get_data(running, **window, tags="foo bar", set="union")) == [
            "a",
            "b",
            "c",
        ]
        assert whats(await get_data(running, **window, tags="foo bar", set="intersection")) == ["c"]
        # An intersection asks for every tag; the default match leaves out tags no event
        # ever carried, and a union of such tags matches nothing.
        assert await get_data(running, **window, tags="foo nope", set="intersection") == []
        assert whats(await get_data(running, **window, tags="foo nope")) == ["a", "c"]
        assert await get_data(running, **window, tags="nope") == []
        assert await get_data(running, **window, tags="nope", set="union") == []
        assert await get_data(running, **window, tags=" ") == []


async def test_one_event_as_json_and_as_a_page_then_deleted() -> None:
    async with running_server(server_config()) as running:
        posted = {"what": "<b>release</b>", "tags": "deploy", "data": "a & b", "when": T0 + 0.5}
        event_id = (await post(running, posted)).json()["id"]
        as_json = await running.http.get(
            f"/events/{event_id}/", headers={"Accept": "application/json"}
        )
        assert as_json.json() == {
            "id": event_id,
            "when": "2023-11-14T22:13:20.500Z",
            "what": "<b>release</b>",
            "data": "a & b",
            "tags": ["deploy"],
        }
        page = await running.http.get(f"/events/{event_id}")
        assert page.headers["content-type"].startswith("text/html")
        assert "&lt;b&gt;release&lt;/b&gt;" in page.text
        assert "<b>release" not in page.text
        listing = await running.http.get("/events/", params={"until": str(T0 + 10)})
        assert f'href="/events/{event_id}/"' in listing.text
        listed = await running.http.get(
            "/events/", params={"until": str(T0 + 10)}, headers={"Accept": "application/json"}
        )
        assert whats(listed.json()) == ["<b>release</b>"]

        assert (await running.http.delete(f"/events/{event_id}/")).status_code == 204
        assert running.registry.total("api_events_deleted") == 1
        for again in (
            await running.http.delete(f"/events/{event_id}/"),
            await running.http.get(f"/events/{event_id}/"),
            await running.http.get(f"/events/{2**70}/"),
        ):
            assert again.status_code == 404
            assert "message" in again.json()
        assert await get_data(running) == []


async def test_bad_events_are_refused_with_400_and_not_stored() -> None:
    api = {"host": "127.0.0.1", "port": 0, "max_event_size": 200}
    async with running_server(server_config(api=api)) as running:
        refused: list[tuple[Any, str]] = [
            (b"{not json", "not JSON"),
            ([1, 2], "JSON object"),
            ({"tags": ["x"]}, '"what"'),
            ({"what": 5}, '"what"'),
            ({"what": "x", "tags": {}}, '"tags" must be an array or space-separated string'),
            ({"what": "x", "tags": ["a", 1]}, '"tags"'),
            ({"what": "x", "when": "yesterday"}, '"when"'),
            ({"what": "x", "when": True}, '"when"'),
            ({"what": "x", "when": -5}, '"when"'),
            ({"what": "x", "when": 1e300}, '"when"'),
            ({"what": "x", "data": "y" * 300}, "api.max_event_size"),
        ]
        for body, reason in refused:
            response = await post(running, body)
            assert response.status_code == 400, (body, response.text)
            assert reason in response.json()["message"], (body, response.text)
        assert (await running.http.delete("/events/")).status_code == 405
        for params in ({"from": "garbage"}, {"until": "-1 fortnight"}):
            assert (await running.http.get("/events/get_data", params=params)).status_code == 400
        many = {"tags": " ".join(f"t{n}" for n in range(101))}
        assert (await running.http.get("/events/get_data", params=many)).status_code == 400
        assert await get_data(running) == []


async def test_data_that_is_not_text_is_kept_as_json() -> None:
    async with running_server(server_config()) as running:
        await post(running, {"what": "x", "data": {"build": 42}, "when": T0})
        await post(running, {"what": "y", "data": None, "when": T0 + 1})
        found = await get_data(running, until=str(T0 + 2))
        assert [event["data"] for event in found] == ['{"build":42}', ""]


async def test_more_matches_than_max_events_is_a_400_naming_the_key() -> None:
    api = {"host": "127.0.0.1", "port": 0, "max_events": 3}
    async with running_server(server_config(api=api)) as running:
        for n in range(4):
            await post(running, {"what": str(n), "when": T0 + n})
        assert len(await get_data(running, until=str(T0 + 2))) == 3
        response = await running.http.get("/events/get_data", params={"until": str(T0 + 3)})
        assert response.status_code == 400
        assert "api.max_events" in response.json()["message"]


async def test_events_ask_for_the_api_credentials() -> None:
    api = {"host": "127.0.0.1", "port": 0, "username": "grafana", "password": "s3cret"}
    pair = base64.b64encode(b"grafana:s3cret").decode()
    async with running_server(server_config(api=api)) as running:
        assert (await post(running, {"what": "x"})).status_code == 401
        allowed = await running.http.post(
            "/events/", json={"what": "x"}, headers={"Authorization": f"Basic {pair}"}
        )
        assert allowed.status_code == 200
        assert (await running.http.get("/events/get_data")).status_code == 401
        listed = await running.http.get(
            "/events/get_data", headers={"Authorization": f"Basic {pair}"}
        )
        assert whats(listed.json()) == ["x"]


async def test_events_survive_a_restart_of_a_sqlite_server(tmp_path: Path) -> None:
    store = {"type": "sqlite", "path": str(tmp_path / "cyanite.db")}
    async with running_server(server_config(store=store)) as running:
        await post(running, {"what": "before", "tags": ["deploy"], "when": T0})
    async with running_server(server_config(store=store)) as running:
        [event] = await get_data(running, tags="deploy", until=str(T0))
        assert event["what"] == "before"
        await post(running, {"what": "after", "when": T0})
        assert whats(await get_data(running, until=str(T0))) == ["before", "after"]
