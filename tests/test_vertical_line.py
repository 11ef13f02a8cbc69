"""graphite-web's `verticalLine`: a single point at a time inside the range."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import Running, running_server, server_config

T0 = 1_700_000_000


async def render(running: Running, target: str) -> tuple[int, Any]:
    params = {"target": target, "from": str(T0), "until": str(T0 + 3600), "format": "json"}
    response = await running.http.get("/render", params=params)
    return response.status_code, response.json()


async def test_a_vertical_line_is_one_point_at_its_time() -> None:
    async with running_server(server_config()) as running:
        status, [line] = await render(running, f"verticalLine('{T0 + 600}', 'deploy', 'red')")
        assert status == 200
        assert line["target"] == "deploy"
        assert line["datapoints"] == [[1.0, T0 + 600]]
        _, [unnamed] = await render(running, "verticalLine('23:00_20231114')")
        assert unnamed["target"] == "23:00_20231114"
        assert unnamed["datapoints"] == [[1.0, 1_700_002_800]]


@pytest.mark.parametrize(
    ("when", "message"), [(T0 - 60, "before the start"), (T0 + 7200, "after the end")]
)
async def test_a_vertical_line_outside_the_range_is_a_400(when: int, message: str) -> None:
    async with running_server(server_config()) as running:
        status, body = await render(running, f"verticalLine('{when}')")
        assert status == 400
        assert message in body["message"]
