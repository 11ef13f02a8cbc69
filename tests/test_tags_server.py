"""Tagged series through the whole server on real sockets: carbon in over TCP, UDP and
pickle, in any spelling, kept once in Graphite's; read back through the tag routes and
seriesByTag, never through globs."""

from __future__ import annotations

from typing import Any

import trio

from tests.helpers import Running, now, running_server, server_config

SPELLINGS = [
    "cpu;host=web01;dc=eu",
    "cpu;dc=eu;host=web01",
    'cpu{host="web01",dc="eu"}',
    "~cpu;host=web01;dc=eu",
]
"""One series, written four ways; Graphite keeps it as `cpu;dc=eu;host=web01`."""


async def stored_paths(s: Running, count: int) -> list[str]:
    """The store's paths once it holds `count` of them: the writer takes the engine's new
    paths with its windows, a moment after the points are aggregated."""
    with trio.fail_after(10):
        while len(paths := await s.server.store.load_paths()) < count:  # noqa: ASYNC110
            await trio.sleep(0.01)
    return paths


def last_value(series: dict[str, Any]) -> float:
    """The newest value a series holds (a window may start between the write and the read)."""
    values: list[float] = [value for value, _ in series["datapoints"] if value is not None]
    return values[-1]


async def render(s: Running, target: str, **params: str) -> list[dict[str, Any]]:
    response = await s.http.get(
        "/render", params={"target": target, "format": "json", "from": "-5min", **params}
    )
    assert response.status_code == 200, response.text
    answer: list[dict[str, Any]] = response.json()
    return answer


async def test_every_spelling_of_a_tagged_series_is_one_series() -> None:
    async with running_server(server_config()) as s:
        t = now()
        await s.send_lines(f"{SPELLINGS[0]} 1 {t}\n{SPELLINGS[1]} 2 {t}\n")
        await s.send_udp(f"{SPELLINGS[2]} 3 {t}\n")
        await s.send_pickle([(SPELLINGS[3], (t, 4.0)), ("mem;host=web01;dc=eu", (t, 8.0))])
        await s.until("engine_points", 5)
        assert await stored_paths(s, 2) == ["cpu;dc=eu;host=web01", "mem;dc=eu;host=web01"]
        [series] = await render(s, "seriesByTag('name=cpu')")
        assert series["target"] == "cpu;dc=eu;host=web01"
        assert series["tags"] == {"name": "cpu", "dc": "eu", "host": "web01"}
        assert last_value(series) == 2.5
        assert s.registry.value("engine_series_created") == 2


async def test_tagged_series_are_read_by_tags_and_by_their_exact_path_only() -> None:
    async with running_server(server_config()) as s:
        t = now()
        await s.send_lines(
            f"web01.cpu 5 {t}\ncpu;host=web01;dc=eu 1 {t}\ncpu;host=web02;dc=us 2 {t}\n"
            f"disk.used;host=web01;dc=eu;mount=/var 70 {t}\n"
        )
        await s.until("engine_points", 4)
        find = await s.http.get("/metrics/find", params={"query": "*"})
        assert [node["text"] for node in find.json()] == ["web01"]
        exact = await render(s, "cpu;dc=us;host=web02")
        assert [(one["target"], one["tags"]["host"]) for one in exact] == [
            ("cpu;dc=us;host=web02", "web02")
        ]
        summed = await render(s, "sumSeries(seriesByTag('name=~cpu|disk', 'dc=eu'))")
        assert summed[0]["target"] == "sumSeries(seriesByTag('name=~cpu|disk', 'dc=eu'))"
        assert last_value(summed[0]) == 71.0
        assert summed[0]["tags"] == {
            "dc": "eu",
            "host": "web01",
            "name": "sumSeries(seriesByTag('name=~cpu|disk', 'dc=eu'))",
            "aggregatedBy": "sum",
        }
        grouped = await render(s, "seriesByTag('dc=~.')|groupByTags('max', 'dc')")
        assert [(one["target"], last_value(one)) for one in grouped] == [
            ("max;dc=eu", 70.0),
            ("max;dc=us", 2.0),
        ]
        tags = await s.http.get("/tags")
        assert tags.json() == [{"tag": t} for t in ("dc", "host", "mount", "name")]
        values = await s.http.get("/tags/autoComplete/values", params={"tag": "host"})
        assert values.json() == ["web01", "web02"]


async def test_tagged_names_graphite_refuses_are_counted_not_kept() -> None:
    async with running_server(server_config()) as s:
        t = now()
        bad = ["cpu;host", "cpu;host=", "cpu;ho!st=a", "cpu;host=~a", ";host=a", "~;a=b"]
        await s.send_lines("".join(f"{path} 1 {t}\n" for path in bad) + f"ok;a=b 1 {t}\n")
        await s.send_pickle([("cpu;dc=", (t, 1.0))])
        await s.send_udp(f"cpu;=eu 1 {t}\n")
        await s.until("engine_points", 1)
        await s.until("engine_points_refused", len(bad) + 2)
        assert s.registry.value("engine_points_refused", reason="bad_tags") == len(bad) + 2
        assert await stored_paths(s, 1) == ["ok;a=b"]
        await s.send_lines(f"cpu;host 1 {t}\n")
        await s.until("engine_points_refused", len(bad) + 3)


async def test_a_large_chunk_of_tagged_lines_is_kept_in_graphites_spelling() -> None:
    """A chunk of 64 KiB or more in the plain form is read column-wise by the parse
    worker; its tagged names are spelled as any others."""
    async with running_server(server_config()) as s:
        t = now()
        lines = [f"load;host=h{h:04d};core={h % 4};dc=d{h % 3} {h} {t}\n" for h in range(3000)]
        text = "".join(lines)
        assert len(text) > 64 * 1024
        await s.send_lines(text)
        await s.until("engine_points", 3000)
        paths = await stored_paths(s, 3000)
        assert len(paths) == 3000
        assert paths[0] == "load;core=0;dc=d0;host=h0000"
        exprs = {"expr": ["core=1", "dc=d2", "name=load"]}
        found = await s.http.get("/tags/findSeries", params=exprs)
        expected = sorted(
            f"load;core=1;dc=d2;host=h{h:04d}" for h in range(3000) if h % 4 == 1 and h % 3 == 2
        )
        assert found.json() == expected
