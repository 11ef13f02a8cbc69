"""seriesByTag, groupByTags and aliasByTags over a real store, index and engine, and the
tags every function carries, as graphite-web 1.1.10 gives them."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from cyanite_py.api.app import build_app
from cyanite_py.api.functions import InputError, RenderSeries
from cyanite_py.counters import Registry
from tests.test_functions import N, World

SERIES: dict[str, list[float | None]] = {
    "cpu;dc=eu;host=web01": [1, 2, 3, 4, 5],
    "cpu;dc=eu;host=web02": [10, 20, 30, 40, 50],
    "cpu;dc=us;host=web03": [100, 100, 100, 100, N],
    "cpu;host=web04": [7, 7, 7, 7, 7],
    "disk.used;dc=eu;host=web01;mount=/var": [70, 71, 72, 73, 74],
}


@pytest.fixture
async def world() -> World:
    world = World()
    for path, values in SERIES.items():
        await world.put(path, values)
    await world.put("servers.web01.cpu", [1, 1, 1, 1, 1])
    return world


def named(series_list: list[RenderSeries]) -> list[str]:
    return [series.name for series in series_list]


def points(series: RenderSeries) -> list[float | None]:
    return [None if np.isnan(value) else value for value in series.values.tolist()]


async def test_series_by_tag_gives_the_matching_series_sorted_and_tagged(world: World) -> None:
    found = await world.render("seriesByTag('name=cpu', 'dc!=us')")
    assert named(found) == ["cpu;dc=eu;host=web01", "cpu;dc=eu;host=web02", "cpu;host=web04"]
    assert found[0].tags == {"name": "cpu", "dc": "eu", "host": "web01"}
    assert found[2].tags == {"name": "cpu", "host": "web04"}
    assert [series.path_expression for series in found] == ["seriesByTag('name=cpu', 'dc!=us')"] * 3
    assert list(found[1].values) == [10, 20, 30, 40, 50]


async def test_series_by_tag_names_aggregates_by_the_call_as_written(world: World) -> None:
    [summed] = await world.render('sumSeries(seriesByTag("name=cpu","dc=eu"))')
    assert summed.name == 'sumSeries(seriesByTag("name=cpu","dc=eu"))'
    assert list(summed.values) == [11, 22, 33, 44, 55]
    assert summed.tags == {"name": "cpu", "dc": "eu", "aggregatedBy": "sum"}
    [piped] = await world.render("seriesByTag('name=cpu', 'dc=eu') | averageSeries()")
    assert piped.name == "averageSeries(seriesByTag('name=cpu', 'dc=eu'))"


async def test_series_by_tag_matches_regular_expressions_from_the_start(world: World) -> None:
    assert named(await world.render("seriesByTag('name=~cpu|disk', 'host=~web0[12]$')")) == [
        "cpu;dc=eu;host=web01",
        "cpu;dc=eu;host=web02",
        "disk.used;dc=eu;host=web01;mount=/var",
    ]
    assert await world.render("seriesByTag('name=~used')") == []
    assert named(await world.render("seriesByTag('name=~.*used')")) == [
        "disk.used;dc=eu;host=web01;mount=/var"
    ]
    assert named(await world.render("seriesByTag('dc=', 'name=~c')")) == ["cpu;host=web04"]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("seriesByTag()", 'missing parameter "tagExpressions"'),
        ("seriesByTag('dc!=eu')", "at least one tag expression"),
        ("seriesByTag('name')", "invalid tag expression 'name'"),
        ("seriesByTag('name=~(cpu')", "invalid regular expression"),
        ("seriesByTag('name=cpu', 3)", 'parameter "tagExpressions"'),
        ("groupByTags(seriesByTag('name=cpu'), 'sum')", 'missing parameter "tags"'),
        ("groupByTags(seriesByTag('name=cpu'), 'nosuch', 'dc')", "invalid aggFunc value"),
        ("aliasByTags(seriesByTag('name=cpu'))", 'missing parameter "tags"'),
    ],
)
async def test_bad_arguments_say_what_is_wrong(world: World, target: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        await world.render(target)


async def test_a_tagged_path_is_a_target_of_its_own(world: World) -> None:
    [series] = await world.render("cpu;dc=us;host=web03")
    assert (series.name, series.path_expression) == ("cpu;dc=us;host=web03",) * 2
    assert series.tags == {"name": "cpu", "dc": "us", "host": "web03"}
    [scaled] = await world.render("scale(cpu;dc=us;host=web03, 2)")
    assert scaled.name == "scale(cpu;dc=us;host=web03,2)"
    assert {**scaled.tags, "scale": "?"} == {
        "name": "cpu",
        "dc": "us",
        "host": "web03",
        "scale": "?",
    }
    assert await world.render("cpu;host=web03;dc=us") == []  # spelled otherwise: not found
    assert await world.render("cpu*") == []  # globs never reach tagged paths


async def test_group_by_tags_names_groups_as_tagged_series(world: World) -> None:
    grouped = await world.render("groupByTags(seriesByTag('name=cpu'), 'sum', 'dc')")
    assert [(s.name, points(s)) for s in grouped] == [
        ("cpu;dc=eu", [11, 22, 33, 44, 55]),
        ("cpu;dc=us", [100, 100, 100, 100, None]),
        ("cpu;dc=", [7, 7, 7, 7, 7]),  # no dc: an empty value, which graphite-web fails on
    ]
    assert grouped[0].tags == {"name": "cpu", "dc": "eu"}
    assert grouped[0].path_expression == "cpu;dc=eu"
    assert grouped[2].tags == {"name": "cpu", "dc": ""}


async def test_group_by_tags_names_mixed_names_after_the_callback(world: World) -> None:
    grouped = await world.render("groupByTags(seriesByTag('dc=eu'), 'max', 'host', 'dc')")
    assert [(s.name, points(s)) for s in grouped] == [
        ("max;dc=eu;host=web01", [70, 71, 72, 73, 74]),
        ("max;dc=eu;host=web02", [10, 20, 30, 40, 50]),
    ]
    assert grouped[0].tags == {"name": "max", "dc": "eu", "host": "web01"}
    by_name = await world.render("groupByTags(seriesByTag('dc=eu'), 'sumSeries', 'name')")
    assert [(s.name, points(s)) for s in by_name] == [
        ("cpu", [11, 22, 33, 44, 55]),
        ("disk.used", [70, 71, 72, 73, 74]),
    ]
    assert by_name[0].tags == {"name": "cpu"}


async def test_alias_by_tags_takes_tags_and_nodes(world: World) -> None:
    aliased = await world.render("aliasByTags(seriesByTag('dc=eu'), 'host', 1, 'name')")
    assert named(aliased) == ["web01..cpu", "web02..cpu", "web01.used.disk.used"]
    [summed] = await world.render("aliasByTags(sumSeries(seriesByTag('dc=eu')), 'name', 'dc')")
    assert summed.name == "sumSeries(seriesByTag('dc=eu')).eu"  # the names differ


async def test_tags_are_carried_through_functions(world: World) -> None:
    [renamed] = await world.render("alias(seriesByTag('host=web04'), 'four')")
    assert (renamed.name, renamed.tags) == ("four", {"name": "cpu", "host": "web04"})
    [moved] = await world.render("offset(seriesByTag('host=web04'), 1)")
    assert moved.tags.items() >= {"name": "cpu", "host": "web04"}.items()
    assert "offset" in moved.tags
    [untagged] = await world.render("servers.web01.cpu")
    assert untagged.tags == {"name": "servers.web01.cpu"}


async def test_render_answers_tags_in_json_and_400_for_bad_expressions(world: World) -> None:
    transport = httpx.ASGITransport(app=build_app(world.reader, Registry()))
    async with httpx.AsyncClient(transport=transport, base_url="http://graphite") as client:
        params = {"target": "seriesByTag('host=web04')", "format": "json"}
        answer = (await client.get("/render", params=params)).json()
        assert [(s["target"], s["tags"]) for s in answer] == [
            ("cpu;host=web04", {"name": "cpu", "host": "web04"})
        ]
        bad = await client.get("/render", params={"target": "seriesByTag('dc=')"})
        assert bad.status_code == 400
        assert "at least one tag expression" in bad.json()["message"]


async def test_functions_describe_the_tag_functions_as_graphite_web_does(world: World) -> None:
    transport = httpx.ASGITransport(app=build_app(world.reader, Registry()))
    async with httpx.AsyncClient(transport=transport, base_url="http://graphite") as client:
        functions = (await client.get("/functions")).json()
    series_list = {"name": "seriesList", "type": "seriesList", "required": True}
    assert {key: functions["seriesByTag"][key] for key in ("function", "group", "params")} == {
        "function": "seriesByTag(*tagExpressions)",
        "group": "Special",
        "params": [
            {"name": "tagExpressions", "type": "string", "required": True, "multiple": True}
        ],
    }
    callback = {**functions["groupByNode"]["params"][2], "required": True}
    del callback["default"]
    assert {key: functions["groupByTags"][key] for key in ("function", "group", "params")} == {
        "function": "groupByTags(seriesList, callback, *tags)",
        "group": "Combine",
        "params": [
            series_list,
            callback,
            {"name": "tags", "type": "tag", "required": True, "multiple": True},
        ],
    }
    assert {key: functions["aliasByTags"][key] for key in ("function", "group", "params")} == {
        "function": "aliasByTags(seriesList, *tags)",
        "group": "Alias",
        "params": [
            series_list,
            {"name": "tags", "type": "nodeOrTag", "required": True, "multiple": True},
        ],
    }
    assert functions["seriesByTag"]["module"] == "graphite.render.functions"
