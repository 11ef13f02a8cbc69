"""graphite-web's `events()` render function: events counted in each second of the range."""

from __future__ import annotations

from typing import Any

from tests.helpers import Running, running_server, server_config

T0 = 1_700_000_000


async def add_events(running: Running, *events: tuple[int, str]) -> None:
    for when, tags in events:
        response = await running.http.post(
            "/events/", json={"what": f"at {when}", "tags": tags, "when": when}
        )
        assert response.status_code == 200, response.text


async def render(running: Running, target: str, **params: str) -> tuple[int, Any]:
    query = {"target": target, "from": str(T0), "until": str(T0 + 10), "format": "json"}
    response = await running.http.get("/render", params={**query, **params})
    return response.status_code, response.json()


async def test_events_are_counted_in_their_second_and_matched_by_tags() -> None:
    async with running_server(server_config()) as running:
        await add_events(
            running,
            (T0 + 2, "deploy web"),
            (T0 + 2, "deploy db"),
            (T0 + 5, "outage"),
            (T0 + 30, "deploy"),
        )
        status, [every] = await render(running, 'events("*")')
        assert status == 200
        assert every["target"] == 'events("*")'
        values = [value for value, _ in every["datapoints"]]
        assert len(values) == 10
        assert values[2] == 2
        assert values[5] == 1
        assert [value for index, value in enumerate(values) if index not in (2, 5)] == [None] * 8
        assert every["datapoints"][2][1] == T0 + 2
        _, [deploys] = await render(running, 'events("deploy")')
        assert [value for value, _ in deploys["datapoints"]][2] == 2
        _, [both] = await render(running, 'events("deploy", "web")')
        assert [value for value, _ in both["datapoints"]].count(1) == 1
        # A tag no event ever carried is left out, as graphite-web's tag match does.
        _, [unknown] = await render(running, 'events("deploy", "never-used")')
        assert [value for value, _ in unknown["datapoints"]][2] == 2


async def test_events_with_nothing_matching_is_a_series_of_nulls() -> None:
    async with running_server(server_config()) as running:
        status, [series] = await render(running, 'drawAsInfinite(events("release"))')
        assert status == 200
        assert {value for value, _ in series["datapoints"]} == {None}


async def test_more_events_than_max_events_is_a_400() -> None:
    config = server_config(api={"host": "127.0.0.1", "port": 0, "max_events": 2})
    async with running_server(config) as running:
        await add_events(running, (T0 + 1, "a"), (T0 + 2, "a"), (T0 + 3, "a"))
        status, body = await render(running, 'events("a")')
        assert status == 400
        assert "api.max_events" in body["message"]
