"""The whole server on real sockets: carbon in over TCP, UDP and pickle, read back over HTTP."""

from __future__ import annotations

from pathlib import Path

import trio

from tests.helpers import now, running_server, server_config, wait_until


async def test_plaintext_points_show_in_metrics_before_any_flush() -> None:
    async with running_server(server_config()) as s:
        t = now()
        await s.send_lines(f"web.01.cpu 10 {t}\nweb.01.cpu 30 {t}\nweb.02.cpu 5 {t}\n")
        await s.until("engine_points", 3)
        body = await s.metrics(path="web.*.cpu", **{"from": str(t - 60)})
        assert body["step"] == 10
        assert body["series"]["web.01.cpu"][-1] == 20.0
        assert body["series"]["web.02.cpu"][-1] == 5.0
        high = await s.metrics(path="web.01.cpu", agg="max", **{"from": str(t - 60)})
        assert high["series"]["web.01.cpu"][-1] == 30.0


async def test_udp_and_pickle_points_arrive() -> None:
    async with running_server(server_config()) as s:
        t = now()
        await s.send_udp(f"udp.metric 7 {t}\n")
        await s.send_pickle([("pickled.metric", (t, 2.5)), ("pickled.metric", (t, 3.5))])
        await s.until("engine_points", 3)
        body = await s.metrics(
            path=["udp.metric", "pickled.metric"], agg="sum", **{"from": "-1min"}
        )
        assert body["series"]["udp.metric"][-1] == 7.0
        assert body["series"]["pickled.metric"][-1] == 6.0


async def test_bad_lines_are_counted_and_the_good_ones_flow() -> None:
    async with running_server(server_config()) as s:
        t = now()
        await s.send_lines(f"good.a 1 {t}\nthis is not carbon at all\ngood.b x {t}\ngood.c 3 {t}\n")
        await s.until("engine_points", 2)
        paths = await s.http.get("/paths", params={"query": "good.*"})
        assert [node["path"] for node in paths.json()] == ["good.a", "good.c"]
        prometheus = (await s.http.get("/prometheus")).text
        assert 'reason="fields"' in prometheus
        assert 'reason="value"' in prometheus


async def test_the_servers_own_counters_are_written_under_its_prefix() -> None:
    async with running_server(
        server_config(reporter={"interval": 1, "prefix": "self.{host}"})
    ) as s:
        await s.send_lines(f"some.metric 1 {now()}\n")
        with trio.fail_after(10):
            while True:
                nodes = (await s.http.get("/paths", params={"query": "self.*.*"})).json()
                if any(node["text"] == "input_points_received" for node in nodes):
                    break
                await trio.sleep(0.2)


async def test_points_survive_a_restart_with_the_sqlite_store(tmp_path: Path) -> None:
    config = server_config(store={"type": "sqlite", "path": str(tmp_path / "cyanite.db")})
    t = now() - 120
    t -= t % 10  # both points in one 10 s window
    async with running_server(config) as s:
        await s.send_lines(f"kept.metric 4 {t}\nkept.metric 6 {t + 1}\nother.one 1 {t}\n")
        await s.until("engine_points", 3)
    async with running_server(config) as s:
        paths = await s.http.get("/paths", params={"query": "*"})
        assert {node["path"] for node in paths.json()} == {"kept", "other"}
        body = await s.metrics(path="kept.metric", **{"from": str(t - 60), "to": str(t + 60)})
        values = [v for v in body["series"]["kept.metric"] if v is not None]
        assert values == [5.0]


async def test_a_replay_faster_than_the_store_waits_instead_of_dropping(tmp_path: Path) -> None:
    config = server_config(
        store={"type": "sqlite", "path": str(tmp_path / "cyanite.db")},
        writer={"max_buffered": 500, "max_batch": 200},
        engine={"rules": {"default": ["10s:1d", "1m:30d"]}},
    )
    series, points = 1000, 90
    start = now() - 3600
    start -= start % 60
    lines = "".join(
        f"replay.{s} {i} {start + 10 * i}\n" for i in range(points) for s in range(series)
    )
    async with running_server(config) as s:
        await s.send_lines(lines)
        with trio.fail_after(60):
            await wait_until(lambda: s.registry.total("engine_points") >= series * points)
        assert s.registry.total("store_buffer_full_waits") > 0
        with trio.fail_after(60):  # every window is history: the clock closes the last ones
            await wait_until(
                lambda: not (s.server.engine.unwritten() or s.server.writer.unwritten()), 0.05
            )
        window = {"path": "replay.*", "agg": "count", "from": str(start), "to": str(start + 900)}
        fine = await s.metrics(**window)
        assert sum(v for values in fine["series"].values() for v in values if v) == series * 90
        coarse = await s.metrics(**window | {"from": str(start - 86400 - 60)})
        assert coarse["step"] == 60
        counts = [v for values in coarse["series"].values() for v in values if v]
        assert sum(counts) == series * 90
        assert set(counts) == {6.0}
