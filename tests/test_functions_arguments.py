"""Every served function answers odd arguments with a 200 or a 400, never a 500.

Each function is called through /render, with the request's real bounds, with odd values
alone and after a series list (and after a series list and a number), in each of its
argument places: whatever it makes of them, it answers or names what was wrong.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from cyanite_py.api.app import build_app
from cyanite_py.api.functions import FUNCTIONS
from cyanite_py.counters import Registry
from tests.test_functions import T0, World, world

__all__ = ["world"]

ODD = ("0", "-1", "2.5", "1e300", "100000", "'x'", "'-5min'", "'sum'", "true", "None", "a.*")
LEADS = ("", "a.*, ", "a.*, 2, ", "s.x, '20s', ")


@pytest.fixture
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(world.reader, Registry()))
    async with httpx.AsyncClient(transport=transport, base_url="http://graphite") as client:
        yield client


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
async def test_odd_arguments_are_answered_or_refused(client: httpx.AsyncClient, name: str) -> None:
    range_ = {"from": str(T0), "until": str(T0 + 50), "format": "json"}
    for lead in LEADS:
        for value in ODD:
            target = f"{name}({lead}{value})"
            response = await client.get("/render", params={"target": target, **range_})
            assert response.status_code in (200, 400), (target, response.text)
            if response.status_code == 400:
                assert response.json()["message"]
