"""graphite-web's forecasts, curves, generated series and remaining filters, by hand.

The data are tests.test_functions' world (points every 10 s at T0+10 ... T0+50):
a.b1 1..5, a.b2 10,None,30,40,None, c.counter 1,5,2,8,None, z.div 2,0,3,None,5,
k.gappy 1,None,None,4,None, g.h1.x 1..5, g.h1.y 10..50, g.h2.x 7 five times; s.x
holds nothing in the range. Holt-Winters' expected figures follow graphite-web's
recurrences (alpha = gamma = 0.1, beta = 0.0035) step by step.
"""

from __future__ import annotations

import itertools
import math

import pytest

from cyanite_py.api.functions import InputError
from tests.test_functions import T0, N, World, named, values, world

__all__ = ["world"]

# a.b1 read from 20 s before the range: None, None, 1, 2, 3, 4, 5 with a season of 2; the
# first point, after the gap, has no prediction
PREDICTED = [1.0, 1.10035, 1.38133, 1.726097]
FORECAST = [N, *PREDICTED]
DEVIATION = [0.1, 0.1, 0.279965, 0.351867, 0.579359]


async def test_holt_winters_forecast(world: World) -> None:
    (forecast,) = await world.render("holtWintersForecast(a.b1, '20s', '20s')")
    assert forecast.name == "holtWintersForecast(a.b1)"
    assert (forecast.start, forecast.step) == (T0 + 10, 10)
    assert values(forecast) == pytest.approx(FORECAST)
    # a constant settles at once: only the first point, after a gap, has no prediction
    (flat,) = await world.render("holtWintersForecast(g.h2.x, '1min', '20s')")
    assert values(flat) == [N, 7, 7, 7, 7]


async def test_holt_winters_bands_aberration_and_area(world: World) -> None:
    lower, upper = await world.render("holtWintersConfidenceBands(a.b1, 3, '20s', '20s')")
    assert (lower.name, upper.name) == (
        "holtWintersConfidenceLower(a.b1)",
        "holtWintersConfidenceUpper(a.b1)",
    )
    spread = [3 * d for d in DEVIATION[1:]]
    upper_band = [f + s for f, s in zip(PREDICTED, spread, strict=True)]
    assert values(lower)[1:] == pytest.approx(
        [f - s for f, s in zip(PREDICTED, spread, strict=True)], abs=1e-5
    )
    assert values(upper)[1:] == pytest.approx(upper_band, abs=1e-5)
    assert values(lower)[0] is None
    (aberration,) = await world.render("holtWintersAberration(a.b1, 3, '20s', '20s')")
    assert aberration.name == "holtWintersAberration(a.b1)"
    above = [0] + [v - u for v, u in zip([2, 3, 4, 5], upper_band, strict=True)]
    assert values(aberration) == pytest.approx(above, abs=1e-5)
    area = await world.render("holtWintersConfidenceArea(a.b1, 3, '20s', '20s')")
    assert [series.name for series in area] == ["holtWintersConfidenceArea(a.b1)"] * 2


async def test_linear_regression(world: World) -> None:
    (line,) = await world.render("linearRegression(a.b1)")
    assert line.name == f"linearRegression(a.b1, {T0}, {T0 + 50})"
    assert values(line) == pytest.approx([1, 2, 3, 4, 5])
    # fitted on 10 and 30 alone (a.b2 over T0 ... T0+30), drawn over the whole range
    (fitted,) = await world.render(f"linearRegression(a.b2, {T0}, {T0 + 30})")
    assert values(fitted) == pytest.approx([10, 20, 30, 40, 50])
    assert await world.render("linearRegression(s.x)") == []


async def test_curves_and_logarithms(world: World) -> None:
    assert named(await world.render("add(a.b1, 1.5)")) == {"add(a.b1,1)": [2.5, 3.5, 4.5, 5.5, 6.5]}
    (logs,) = await world.render("log(offset(a.b1, -1), 2)")
    assert logs.name == "log(offset(a.b1,-1), 2)"
    assert values(logs) == pytest.approx([N, 0, 1, math.log2(3), 2])
    assert values((await world.render("log(a.b1)"))[0]) == pytest.approx(
        [math.log10(v) for v in range(1, 6)]
    )
    assert values((await world.render("exp(a.b2)"))[0]) == pytest.approx(
        [math.exp(10), N, math.exp(30), math.exp(40), N]
    )
    logit = values((await world.render("logit(scale(a.b1, 0.1))"))[0])
    assert logit == pytest.approx([math.log(v / (1 - v)) for v in (0.1, 0.2, 0.3, 0.4, 0.5)])
    sigmoid = values((await world.render("sigmoid(offset(a.b1, -3))"))[0])
    assert sigmoid == pytest.approx([1 / (1 + math.exp(-v)) for v in (-2, -1, 0, 1, 2)])
    assert named(await world.render("powSeries(a.b1, z.div)")) == {
        "powSeries(a.b1,z.div)": [1, 1, 27, N, 3125]
    }
    with pytest.raises(InputError, match='"base" of function "log"'):
        await world.render("log(a.b1, 1)")


async def test_rounding_and_scaling(world: World) -> None:
    # Python's rounding: halves go to the even neighbour
    assert named(await world.render("round(scale(a.b1, 0.25))")) == {
        "round(scale(a.b1,0.25))": [0, 0, 1, 1, 1]
    }
    assert named(await world.render("round(scale(a.b1, 0.25), 1)")) == {
        "round(scale(a.b1,0.25),1)": [0.2, 0.5, 0.8, 1, 1.2]
    }
    assert named(await world.render("minMax(g.h1.y)")) == {
        "minMax(g.h1.y)": [0, 0.25, 0.5, 0.75, 1]
    }
    assert values((await world.render("minMax(g.h2.x)"))[0]) == [0] * 5


async def test_changes_gaps_and_running_totals(world: World) -> None:
    assert named(await world.render("changed(c.counter)")) == {
        "changed(c.counter)": [0, 1, 1, 1, 0]
    }
    assert values((await world.render("changed(k.gappy)"))[0]) == [0, 0, 0, 1, 0]
    assert named(await world.render("interpolate(k.gappy)")) == {
        "interpolate(k.gappy)": [1, 2, 3, 4, N]
    }
    assert values((await world.render("interpolate(k.gappy, 1)"))[0]) == [1, N, N, 4, N]
    # 20 s intervals from T0: T0+10 | T0+20, T0+30 | T0+40, T0+50
    assert named(await world.render("integralByInterval(a.b1, '20s')")) == {
        "integralByInterval(a.b1,'20s')": [1, 2, 5, 4, 9]
    }
    assert named(await world.render("stdev(a.b1, 2)")) == {"stdev(a.b1,2)": [0, 0.5, 0.5, 0.5, 0.5]}
    assert values((await world.render("stdev(a.b2, 2, 1)"))[0]) == [N, N, N, 5, N]


async def test_percentile_cuts(world: World) -> None:
    # the 50th percentile of 1..5 is the 3rd value
    assert named(await world.render("removeAbovePercentile(a.b1, 50)")) == {
        "removeAbovePercentile(a.b1, 50)": [1, 2, 3, N, N]
    }
    assert named(await world.render("removeBelowPercentile(a.b1, 50)")) == {
        "removeBelowPercentile(a.b1, 50)": [N, N, 3, 4, 5]
    }
    assert list(named(await world.render("removeAbovePercentile(s.x, 50)"))) == [
        "removeAbovePercentile(s.x, 50)"
    ]


async def test_settings_carried_by_series(world: World) -> None:
    (series,) = await world.render("setXFilesFactor(a.b1, 0.5)")
    assert (series.name, series.x_files_factor, series.tags["xFilesFactor"]) == ("a.b1", 0.5, "0.5")
    (short,) = await world.render("xFilesFactor(a.b1, 1)")
    assert short.x_files_factor == 1
    # the factor holds for the aggregations around it: 1 of 2 series is not 0.6
    assert named(await world.render("sumSeries(xFilesFactor(a.*, 0.6))")) == {
        "sumSeries(a.*)": [11, N, 33, 44, N]
    }
    assert named(await world.render("aggregate(xFilesFactor(a.*, 0.6), 'sum', 0)")) == {
        "sumSeries(a.*)": [11, 2, 33, 44, 5]
    }
    (summed,) = await world.render("cumulative(a.b1)")
    assert (summed.name, summed.consolidation_func) == ('consolidateBy(a.b1,"sum")', "sum")


async def test_generated_series(world: World) -> None:
    (clock,) = await world.render("time('t', 10)")
    assert (clock.name, clock.start, clock.step) == ("t", T0, 10)
    assert values(clock) == [T0, T0 + 10, T0 + 20, T0 + 30, T0 + 40]
    (line,) = await world.render("identity('i')")
    assert (line.path_expression, values(line)) == ('identity("i")', [T0])
    (wave,) = await world.render("sin('s', 2, 10)")
    assert values(wave) == pytest.approx([2 * math.sin(T0 + 10 * k) for k in range(5)])
    (walk,) = await world.render("randomWalk('r', 10)")
    points = [value for value in values(walk) if value is not None]
    steps = [b - a for a, b in itertools.pairwise(points)]
    assert points[0] == 0
    assert len(steps) == 4
    assert all(-0.5 <= step <= 0.5 for step in steps)
    with pytest.raises(InputError, match='"step" of function "timeFunction"'):
        await world.render("timeFunction('t', 0)")


async def test_lines_from_series(world: World) -> None:
    (limit,) = await world.render("threshold(5, 'limit', 'red')")
    assert (limit.name, values(limit)) == ("limit", [5, 5, 5])
    (average,) = await world.render("aggregateLine(a.b1)")
    assert (average.name, average.start, values(average)) == ("aggregateLine(a.b1, 3)", T0, [3] * 3)
    (kept,) = await world.render("aggregateLine(a.b1, 'max', true)")
    assert (kept.name, values(kept)) == ("aggregateLine(a.b1, 5)", [5] * 5)
    (empty,) = await world.render("aggregateLine(s.x)")
    assert (empty.name, values(empty)) == ("aggregateLine(s.x, None)", [N] * 3)
    area = await world.render("areaBetween(g.h1.*)")
    assert [s.name for s in area] == ["areaBetween(g.h1.*)"] * 2
    with pytest.raises(InputError, match="exactly 2 series"):
        await world.render("areaBetween(a.b1)")


@pytest.mark.parametrize(
    ("target", "chosen"),
    [
        ("mostDeviant(g.*.*, 2)", ["g.h1.y", "g.h1.x"]),
        # averages 3, 30, 7: the 10th and 90th percentiles are 3 and 30
        ("averageOutsidePercentile(g.*.*, 90)", ["g.h1.x", "g.h1.y"]),
        ("averageOutsidePercentile(g.*.*, 10)", ["g.h1.x", "g.h1.y"]),
        # g.h2.x's 7 lies strictly inside the others at every point
        ("removeBetweenPercentile(g.*.*, 90)", ["g.h1.x", "g.h1.y"]),
        ("fallbackSeries(no.such, a.b1)", ["a.b1"]),
        ("fallbackSeries(a.b2, a.b1)", ["a.b2"]),
        ("useSeriesAbove(g.*.x, 4, 'x$', 'y')", ["g.h1.y"]),
        ("useSeriesAbove(g.*.x, 6, 'x$', 'y')", []),
    ],
)
async def test_more_series_chosen(world: World, target: str, chosen: list[str]) -> None:
    assert [series.name for series in await world.render(target)] == chosen


async def test_map_and_reduce(world: World) -> None:
    # groups by node 1; in each, x and y handed to asPercent; g.h2 has no y and is left out
    assert named(
        await world.render("reduceSeries(mapSeries(g.*.*, 1), 'asPercent', 2, 'x', 'y')")
    ) == {"g.h1.reduce.asPercent": [10] * 5}
    assert named(await world.render("reduce(g.h1.*, 'divideSeries', 2, 'y', 'x')")) == {
        "g.h1.reduce.divideSeries": [10] * 5
    }
    with pytest.raises(InputError, match="only reduceSeries takes"):
        await world.render("mapSeries(g.*.*, 1)")
    with pytest.raises(InputError, match="only reduceSeries takes"):
        await world.render("sumSeries(map(g.*.*, 1))")
    for callback, message in (
        ("movingAverage", "one by one"),
        ("scale", "factor"),
        ("x", "unknown"),
    ):
        with pytest.raises(InputError, match=message):
            await world.render(f"reduceSeries(mapSeries(g.*.*, 1), '{callback}', 2, 'x')")


async def test_weighted_average(world: World) -> None:
    # (1*1 + 10*10) / (1 + 10), (2*2 + 20*20) / (2 + 20), ...
    (average,) = await world.render("weightedAverage(g.h1.*, g.h1.*, 2)")
    assert average.name == "weightedAverage(g.h1.*, g.h1.*, 2)"
    assert values(average) == pytest.approx([101 / 11, 404 / 22, 909 / 33, 1616 / 44, 2525 / 55])
    assert await world.render("weightedAverage(a.*, g.h1.*, 1)") == []
    with pytest.raises(InputError, match="same number of series"):
        await world.render("weightedAverage(a.*, g.*.*)")


async def test_alias_query(world: World) -> None:
    # a.b1 becomes a.b2, whose last value is 40
    assert list(named(await world.render("aliasQuery(a.b1, 'b1', 'b2', '%.0f items')"))) == [
        "40 items"
    ]
    with pytest.raises(InputError, match="no series found"):
        await world.render("aliasQuery(a.b1, 'b1', 'nothing', '%d')")
    with pytest.raises(InputError, match="too wide"):
        await world.render("aliasQuery(a.b1, 'b1', 'b2', '%99999999d')")
    with pytest.raises(InputError, match="cannot format"):
        await world.render("aliasQuery(a.b1, 'b1', 'b2', '%d %d')")


async def test_smart_summarize_buckets_from_the_series_start(world: World) -> None:
    (summed,) = await world.render("smartSummarize(a.b1, '20s')")
    assert summed.name == 'smartSummarize(a.b1, "20s", "sum")'
    assert (summed.start, summed.end, summed.step) == (T0 + 10, T0 + 70, 20)
    assert values(summed) == [3, 7, 5]
    late = {"start": T0 + 20, "end": T0 + 50}
    assert values((await world.render("smartSummarize(a.b1, '20s')", **late))[0]) == [7, 5]
    # read from the start of the hour, T0
    aligned = (await world.render("smartSummarize(a.b1, '20s', 'max', 'hours')", **late))[0]
    assert values(aligned) == [2, 4, 5]
    with pytest.raises(InputError, match='"alignTo"'):
        await world.render("smartSummarize(a.b1, '20s', 'sum', 'fortnights')")


async def test_compress_periodic_gaps(world: World) -> None:
    # written every third step from T0+20: brought to 30 s steps of the last value
    await world.put("p.x", [N, 5, N, N, 6, N, N, 7, N, N])
    (compressed,) = await world.render("compressPeriodicGaps(p.x)", end=T0 + 100)
    assert compressed.name == "compressPeriodicGaps(p.x)"
    assert (compressed.start, compressed.end, compressed.step) == (T0 + 20, T0 + 80, 30)
    assert values(compressed) == [5, 6, 7]
    # no such pattern: only renamed
    assert named(await world.render("compressPeriodicGaps(a.b2)")) == {
        "compressPeriodicGaps(a.b2)": [10, N, 30, 40, N]
    }
