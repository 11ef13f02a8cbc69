"""A path is listed once it holds data: points too old for every resolution list nothing."""

from __future__ import annotations

from tests.helpers import now, running_server, server_config

RULES = {"default": ["10s:1h", "1m:1d"]}


async def test_a_path_whose_points_were_all_too_old_is_not_listed() -> None:
    async with running_server(server_config(engine={"rules": RULES})) as s:
        t = now()
        await s.send_lines(f"stale.a 1 {t - 3 * 86400}\nstale.b 1 {t - 2 * 86400}\n")
        await s.until("engine_points_expired", 2)
        # A fresh point of another path, written after the stale ones: once it is
        # listed, the stale paths would have been too.
        await s.send_lines(f"fresh.a 1 {t}\n")
        await s.until("engine_points", 3)
        await s.server.writer.drain()
        found = (await s.http.get("/metrics/find", params={"query": "*"})).json()
        assert [node["text"] for node in found] == ["fresh"]
        # A kept point later lists the path.
        await s.send_lines(f"stale.a 2 {t}\n")
        await s.until("engine_points", 4)
        await s.server.writer.drain()
        stale = (await s.http.get("/metrics/find", params={"query": "stale.*"})).json()
        assert [node["id"] for node in stale] == ["stale.a"]
        assert s.registry.total("engine_series_created") == 3
