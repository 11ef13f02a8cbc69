"""maxDataPoints on a real server: buckets start on multiples of their width, and each is
labelled with the time of its first value.

graphite-web 1.1.10 keeps one value too many before its first bucket, so its labels come
one raw step after the first value each bucket holds; this server does not copy that.
"""

from __future__ import annotations

from typing import Any

from tests.helpers import Running, now, running_server, server_config

RULES = {"rules": {"default": ["10s:1h"]}}


async def twelve_points(running: Running) -> int:
    """Values 1 to 12, 10 s apart, from a minute boundary ten minutes ago; returns it."""
    start = now() - now() % 60 - 600
    lines = "".join(f"c.p {n + 1} {start + 10 * n}\n" for n in range(12))
    await running.send_lines(lines)
    await running.until("engine_points", 12)
    return start


async def render(running: Running, **params: str) -> list[Any]:
    response = await running.http.get("/render", params={"target": "c.p", **params})
    assert response.status_code == 200, response.text
    datapoints: list[Any] = response.json()[0]["datapoints"]
    return datapoints


async def test_each_bucket_is_labelled_with_its_first_value() -> None:
    async with running_server(server_config(engine=RULES)) as running:
        t = await twelve_points(running)
        # 12 values into at most 4 points: buckets of 3 values, 30 s wide. graphite-web
        # 1.1.10 answers [[4.0, t+30], [7.0, t+60], [10.0, t+90], [12.0, t+120]].
        window = {"from": str(t - 1), "until": str(t + 119), "maxDataPoints": "4"}
        assert await render(running, **window) == [
            [2.0, t],
            [5.0, t + 30],
            [8.0, t + 60],
            [11.0, t + 90],
        ]


async def test_values_before_the_first_whole_bucket_are_left_out() -> None:
    async with running_server(server_config(engine=RULES)) as running:
        t = await twelve_points(running)
        # The range starts at t+10: the values at t+10 and t+20 come before the first
        # multiple of 30 s and are left out, so every refresh sees the same buckets.
        window = {"from": str(t + 9), "until": str(t + 119), "maxDataPoints": "4"}
        assert await render(running, **window) == [[5.0, t + 30], [8.0, t + 60], [11.0, t + 90]]
