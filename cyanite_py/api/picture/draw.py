"""Series drawn as graphite-web draws them, with matplotlib's Agg and SVG back ends.

Each series is first consolidated to at most one point per pixel column, as graphite-web
does, so a picture costs the same whatever the range. matplotlib keeps global state
(settings, font caches) that is not safe across threads, so one picture is drawn at a
time; the request's deadline is checked between series.
"""

from __future__ import annotations

import io
import re
import threading
import warnings
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import tzinfo
from typing import Literal

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import AutoMinorLocator

from cyanite_py.api.functions.render import fit_points
from cyanite_py.api.functions.series import RenderSeries
from cyanite_py.api.limits import Deadline
from cyanite_py.api.picture.options import PictureOptions
from cyanite_py.model import FloatArray

LEGEND_MAX_ITEMS = 10
"""Series beyond which the legend is left out unless `hideLegend=false` asks for it."""

_DPI = 72
"""One point is one pixel, so font sizes read as graphite-web's pixel sizes."""
_DAY = 86400.0
_LOCK = threading.Lock()
_SVG_SIZE = re.compile(rb'(<svg[^>]*?) width="([\d.]+)pt" height="([\d.]+)pt"')


def draw(
    data: Sequence[RenderSeries],
    options: PictureOptions,
    fmt: str,
    span: tuple[int, int],
    tz: tzinfo,
    deadline: Deadline,
) -> bytes:
    """The picture of `data` as PNG or SVG bytes; `span` (epoch seconds) is the request's
    range, drawn when there is no series."""
    fitted = fit_points(data, options.width)
    if fitted:  # graphite-web spans the series, which start a step after `from`
        span = (min(series.start for series in fitted), max(series.end for series in fitted))
    with _LOCK, _settings(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a tiny picture cannot fit its decorations: fine
        figure = Figure(
            figsize=(options.width / _DPI, options.height / _DPI),
            dpi=_DPI,
            facecolor=options.background,
        )
        axes = _axes(figure, options, span, tz)
        _plot(axes, fitted, options, deadline)
        if not fitted:
            axes.text(
                0.5,
                0.5,
                "No Data",
                transform=axes.transAxes,
                ha="center",
                va="center",
                color=options.foreground,
                fontsize=options.font_size * 2,
            )
        _decorate(figure, axes, fitted, options)
        deadline.check()
        return _encode(figure, fmt)


def _settings() -> AbstractContextManager[None]:
    """Names are text, never TeX (a `$` in a path must not fail); SVG ids are stable."""
    return matplotlib.rc_context(
        {"text.parse_math": False, "svg.hashsalt": "cyanite", "svg.fonttype": "path"}
    )


def _axes(figure: Figure, options: PictureOptions, span: tuple[int, int], tz: tzinfo) -> Axes:
    """The plotting area: the whole picture for `graphOnly`, else laid out with its labels."""
    if options.graph_only:
        axes = figure.add_axes((0, 0, 1, 1))
    else:
        figure.set_layout_engine("constrained")
        axes = figure.add_subplot()
    axes.set_facecolor(options.background)
    locator = AutoDateLocator(tz=tz)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    formatter = ConciseDateFormatter(locator, tz=tz)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_formatter(formatter)
    axes.set_xlim(span[0] / _DAY, span[1] / _DAY)
    axes.tick_params(colors=options.foreground, labelsize=options.font_size)
    for spine in axes.spines.values():
        spine.set_color(options.foreground)
    if not options.hide_grid:
        axes.yaxis.set_minor_locator(AutoMinorLocator())
        axes.grid(True, which="major", color=options.major_line, linewidth=0.5)
        axes.grid(True, which="minor", axis="y", color=options.minor_line, linewidth=0.3)
    if options.graph_only or options.hide_axes:
        axes.set_axis_off()
    return axes


def _plot(
    axes: Axes, data: Sequence[RenderSeries], options: PictureOptions, deadline: Deadline
) -> None:
    """Each series as a line, filled below as `areaMode` says, stacked on the ones before."""
    below: FloatArray | None = None
    step: Literal["post"] | None = "post" if options.line_mode == "staircase" else None
    alpha = options.area_alpha if options.area_alpha is not None else 1.0
    for position, series in enumerate(data):
        deadline.check()
        color = options.colors[position % len(options.colors)]
        times, values = _points(series)
        if options.area_mode == "stacked":
            base = np.zeros_like(values) if below is None else _fit(below, len(values))
            values = np.where(np.isnan(values), np.nan, base + np.nan_to_num(values))
            below = np.where(np.isnan(values), base, values)
        else:
            base = np.zeros_like(values)
        filled = options.area_mode in ("all", "stacked") or (
            options.area_mode == "first" and position == 0
        )
        if filled:
            axes.fill_between(times, base, values, step=step, color=color, alpha=alpha, linewidth=0)
        if options.line_mode == "connected":
            known = ~np.isnan(values)
            times, values = times[known], values[known]
        axes.plot(
            times,
            values,
            color=color,
            linewidth=options.line_width,
            drawstyle="steps-post" if step else "default",
            label=series.name,
        )
    if options.y_min is not None or options.y_max is not None:
        axes.set_ylim(bottom=options.y_min, top=options.y_max)


def _points(series: RenderSeries) -> tuple[FloatArray, FloatArray]:
    """The times (in days, as matplotlib's dates) and values drawn; infinities are left out."""
    spacing = series.step * series.values_per_point
    count = min(len(series.values), (series.end - series.start) // spacing + 1)
    values = np.asarray(series.values[:count], dtype=np.float64)
    values = np.where(np.isfinite(values), values, np.nan)
    times = (series.start + spacing * np.arange(count, dtype=np.float64)) / _DAY
    return times, values


def _fit(values: FloatArray, length: int) -> FloatArray:
    """`values` cut or padded with zeros to `length`, to stack series of unequal length."""
    fitted = np.zeros(length)
    fitted[: min(length, len(values))] = values[:length]
    return fitted


def _decorate(
    figure: Figure, axes: Axes, data: Sequence[RenderSeries], options: PictureOptions
) -> None:
    if options.graph_only:
        return
    if options.title:
        axes.set_title(options.title, color=options.foreground, fontsize=options.font_size * 1.2)
    if options.vtitle:
        axes.set_ylabel(options.vtitle, color=options.foreground, fontsize=options.font_size)
    hidden = options.hide_legend
    if hidden is None:
        hidden = len(data) > LEGEND_MAX_ITEMS
    if data and not hidden:
        figure.legend(
            loc="outside lower left",
            ncols=max(1, min(len(data), options.width // 160)),
            frameon=False,
            labelcolor=options.foreground,
            fontsize=options.font_size,
        )


def _encode(figure: Figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "svg":
        figure.savefig(buffer, format="svg", metadata={"Date": None})
        return _pixel_size(buffer.getvalue())
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _pixel_size(svg: bytes) -> bytes:
    """matplotlib sizes an SVG in points; at 72 dpi those are the pixels asked for."""
    return _SVG_SIZE.sub(rb'\1 width="\2px" height="\3px"', svg, count=1)
