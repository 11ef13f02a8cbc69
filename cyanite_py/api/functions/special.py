"""Functions that make series from nothing or change how they are drawn."""

from __future__ import annotations

import numpy as np

from cyanite_py.api.functions.evaluate import Context
from cyanite_py.api.functions.registry import Function, Param
from cyanite_py.api.functions.series import CONSOLIDATORS, RenderSeries

SeriesList = list[RenderSeries]


def constant_line(ctx: Context, value: float) -> SeriesList:
    """Three points at `value` across the range, named by the value, as graphite draws it."""
    step = max((ctx.end - ctx.start) // 2, 1)
    name = str(value)
    return [
        RenderSeries(
            name=name,
            path_expression=f"constantLine({value})",
            start=ctx.start,
            end=ctx.end,
            step=step,
            values=np.full(3, float(value)),
            x_files_factor=ctx.x_files_factor,
        )
    ]


async def constant_line_function(ctx: Context, value: float) -> SeriesList:
    return constant_line(ctx, value)


async def consolidate_by(ctx: Context, series_list: SeriesList, function: str) -> SeriesList:
    return [
        series.derive(
            f'consolidateBy({series.name},"{function}")',
            consolidation_func=function,
            tags={"consolidateBy": function},
        )
        for series in series_list
    ]


FUNCTIONS = (
    Function(
        "constantLine",
        "Special",
        "A horizontal line at the given value across the graph.",
        (Param("value", "float", required=True),),
        constant_line_function,
    ),
    Function(
        "consolidateBy",
        "Special",
        "How points are merged when a series has more points than can be drawn "
        "(maxDataPoints): sum, average, min, max, first or last.",
        (
            Param("seriesList", "seriesList", required=True),
            Param("consolidationFunc", "string", required=True, options=tuple(CONSOLIDATORS)),
        ),
        consolidate_by,
    ),
)
