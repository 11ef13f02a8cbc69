"""graphite-web's combining and selecting functions, against values worked by hand.

The data are tests.test_functions' world: every series has a point every 10 s at
T0+10 ... T0+50 (a.b1 1..5, a.b2 10,None,30,40,None, g.h1.x 1..5, g.h1.y 10..50,
g.h2.x 7 five times; s.x holds nothing in the range).
"""

from __future__ import annotations

import pytest

from cyanite_py.api.functions import InputError
from tests.test_functions import N, World, named, values, world

__all__ = ["world"]


async def test_aggregate_names_by_the_function_given(world: World) -> None:
    (summed,) = await world.render("aggregate(a.*, 'sum')")
    assert (summed.name, values(summed)) == ("sumSeries(a.*)", [11, 2, 33, 44, 5])
    assert summed.tags == {"name": "sumSeries(a.*)", "aggregatedBy": "sum"}
    # a point needs 0.6 of the two series: where a.b2 is None, 1 of 2 is not enough
    assert named(await world.render("aggregate(a.*, 'avg', 0.6)")) == {
        "avgSeries(a.*)": [5.5, N, 16.5, 22, N]
    }
    assert named(await world.render("aggregate(a.*, 'maxSeries')")) == {
        "maxSeries(a.*)": [10, 2, 30, 40, 5]
    }


async def test_short_names_are_the_same_functions(world: World) -> None:
    assert named(await world.render("sum(a.*)")) == {"sumSeries(a.*)": [11, 2, 33, 44, 5]}
    assert named(await world.render("avg(a.b1, a.b2)")) == {
        "averageSeries(a.b1,a.b2)": [5.5, 2, 16.5, 22, 5]
    }
    assert list(named(await world.render("pct(a.b1, 10)"))) == ["asPercent(a.b1,10)"]


async def test_stddev_and_range_of_series(world: World) -> None:
    # population deviation of (1, 10), (2, 20), ...: 4.5, 9, ...
    assert named(await world.render("stddevSeries(g.h1.*)")) == {
        "stddevSeries(g.h1.*)": [4.5, 9, 13.5, 18, 22.5]
    }
    # where a.b2 is None only a.b1 is left, whose range is 0
    assert named(await world.render("rangeOfSeries(a.*)")) == {
        "rangeOfSeries(a.*)": [9, 0, 27, 36, 0]
    }


async def test_aggregate_with_wildcards_drops_the_nodes(world: World) -> None:
    assert named(await world.render("aggregateWithWildcards(g.*.*, 'sum', 1)")) == {
        "g.x": [8, 9, 10, 11, 12],
        "g.y": [10, 20, 30, 40, 50],
    }
    assert named(await world.render("sumSeriesWithWildcards(g.*.*, 1)")) == {
        "g.x": [8, 9, 10, 11, 12],
        "g.y": [10, 20, 30, 40, 50],
    }
    assert named(await world.render("averageSeriesWithWildcards(g.*.*, 1, 2)")) == {
        "g": [6, 29 / 3, 40 / 3, 17, 62 / 3]
    }
    assert named(await world.render("multiplySeriesWithWildcards(g.h1.*, 2)")) == {
        "g.h1": [10, 40, 90, 160, 250]
    }


async def test_series_lists_pair_by_position(world: World) -> None:
    assert named(await world.render("divideSeriesLists(g.h1.*, g.h1.*)")) == {
        "divideSeries(g.h1.x,g.h1.x)": [1] * 5,
        "divideSeries(g.h1.y,g.h1.y)": [1] * 5,
    }
    assert named(await world.render("sumSeriesLists(g.h1.*, g.h1.*)")) == {
        "sumSeries(g.h1.x,g.h1.x)": [2, 4, 6, 8, 10],
        "sumSeries(g.h1.y,g.h1.y)": [20, 40, 60, 80, 100],
    }
    with pytest.raises(InputError, match="equal length"):
        await world.render("divideSeriesLists(g.*.*, a.b1)")


async def test_percentile_of_series(world: World) -> None:
    # at each point the values are (1..5, 10..50, 7): sorted, rank 50% of 4 = 2nd
    assert named(await world.render("percentileOfSeries(g.*.*, 50)")) == {
        "percentileOfSeries(g.*.*,50)": [7] * 5
    }
    # 60% of 4 is 2.4: rounded up to the 3rd (10, 20, ...), or 7 + 0.4 * (10 - 7)
    assert values((await world.render("percentileOfSeries(g.*.*, 60)"))[0]) == [
        10,
        20,
        30,
        40,
        50,
    ]
    interpolated = values((await world.render("percentileOfSeries(g.*.*, 60, true)"))[0])
    assert interpolated == pytest.approx([8.2, 12.2, 16.2, 20.2, 24.2])
    with pytest.raises(InputError, match="greater than 0"):
        await world.render("percentileOfSeries(g.*.*, 0)")


async def test_group_and_apply_by_node(world: World) -> None:
    assert list(named(await world.render("group(a.b1, g.h2.x)"))) == ["a.b1", "g.h2.x"]
    result = await world.render("applyByNode(g.*.*, 1, 'sumSeries(%.*)', '%.total')")
    assert named(result) == {"g.h1.total": [11, 22, 33, 44, 55], "g.h2.total": [7] * 5}
    assert [series.path_expression for series in result] == ["g.h1", "g.h2"]
    assert list(named(await world.render("applyByNode(g.*.*, 1, 'maxSeries(%.*)')"))) == [
        "maxSeries(g.h1.*)",
        "maxSeries(g.h2.*)",
    ]
    with pytest.raises(InputError, match="applyByNode"):
        await world.render("applyByNode(g.*.*, 1, 'sumSeries(%.*')")


@pytest.mark.parametrize(
    ("target", "chosen"),
    [
        ("currentAbove(a.*, 5)", ["a.b2"]),
        ("currentBelow(a.*, 5)", ["a.b1"]),
        ("currentAbove(s.x, 0)", []),
        ("currentBelow(s.x, 0)", ["s.x"]),  # no data counts as below
        ("averageAbove(g.*.*, 7)", ["g.h1.y"]),
        ("averageBelow(g.*.*, 7)", ["g.h1.x", "g.h2.x"]),
        ("maximumAbove(g.*.*, 5)", ["g.h1.y", "g.h2.x"]),
        ("maximumBelow(g.*.*, 5)", ["g.h1.x"]),
        ("minimumAbove(g.*.*, 5)", ["g.h1.y", "g.h2.x"]),
        ("minimumBelow(g.*.*, 1)", ["g.h1.x"]),
        ("filterSeries(g.*.*, 'sum', '>=', 35)", ["g.h1.y", "g.h2.x"]),
        ("filterSeries(g.*.*, 'last', '!=', 5)", ["g.h1.y", "g.h2.x"]),
        ("removeEmptySeries(group(s.x, a.b1))", ["a.b1"]),
        ("removeEmptySeries(a.b2, 0.6)", ["a.b2"]),  # 3 of 5 points
        ("removeEmptySeries(a.b2, 0.7)", []),
        ("unique(a.b1, a.*)", ["a.b1", "a.b2"]),
        ("highest(g.*.*, 1, 'sum')", ["g.h1.y"]),
        ("lowest(g.*.*, 2)", ["g.h1.x", "g.h2.x"]),
        ("highestAverage(g.*.*, 2)", ["g.h1.y", "g.h2.x"]),
        ("lowestAverage(g.*.*, 1)", ["g.h1.x"]),
        ("sortByMaxima(g.*.*)", ["g.h1.y", "g.h2.x", "g.h1.x"]),
        ("sortByTotal(g.*.*)", ["g.h1.y", "g.h2.x", "g.h1.x"]),
        ("sortByMinima(g.*.*)", ["g.h1.x", "g.h2.x", "g.h1.y"]),
        ("sortBy(g.*.*, 'last')", ["g.h1.x", "g.h2.x", "g.h1.y"]),
        ("sortBy(g.*.*, 'last', true)", ["g.h1.y", "g.h2.x", "g.h1.x"]),
    ],
)
async def test_series_chosen_by_a_figure(world: World, target: str, chosen: list[str]) -> None:
    assert [series.name for series in await world.render(target)] == chosen


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("aggregate(a.*, 'nope')", 'parameter "func" of function "aggregate"'),
        ("filterSeries(a.*, 'sum', '~', 1)", 'parameter "operator"'),
        ("currentAbove(a.*, 'x')", 'parameter "n" of function "currentAbove"'),
        ("highest(a.*, 1.5)", 'parameter "n" of function "highest"'),
        ("sumSeriesWithWildcards(a.*, 'x')", 'parameter "position"'),
    ],
)
async def test_bad_arguments_name_the_function_and_parameter(
    world: World, target: str, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        await world.render(target)


async def test_group_by_node_hands_any_aggregating_function_its_group(world: World) -> None:
    assert named(await world.render("groupByNode(g.*.*, 1, 'sum')")) == {
        "h1": [11, 22, 33, 44, 55],
        "h2": [7] * 5,
    }
    assert named(await world.render("groupByNode(g.*.*, 1, 'countSeries')")) == {
        "h1": [2] * 5,
        "h2": [1] * 5,
    }
    # sumSeriesLists needs two lists; a group is one
    with pytest.raises(InputError, match='missing parameter "seriesListSecondPos"'):
        await world.render("groupByNode(g.*.*, 1, 'sumSeriesLists')")
