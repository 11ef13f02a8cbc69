"""graphite-web's picture parameters, read and checked before any series is read.

A bad value is a 400 naming the parameter, so a wrong URL costs nothing; the size is
capped at `MAX_PIXELS` a side so one request cannot ask for a gigapixel canvas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from starlette.datastructures import MultiDict

from cyanite_py.api.errors import BadRequest
from cyanite_py.api.picture.colors import Color, parse_color, parse_colors, template

MAX_PIXELS = 4096
"""The widest and tallest picture drawn."""

LINE_MODES = ("slope", "staircase", "connected")
AREA_MODES = ("none", "first", "all", "stacked")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


@dataclass(frozen=True, slots=True)
class PictureOptions:
    """How to draw one picture; the defaults are graphite-web's."""

    width: int = 330
    height: int = 250
    title: str = ""
    vtitle: str = ""
    colors: tuple[Color, ...] = ()
    background: Color = (0.0, 0.0, 0.0, 1.0)
    foreground: Color = (1.0, 1.0, 1.0, 1.0)
    major_line: Color = (1.0, 1.0, 1.0, 1.0)
    minor_line: Color = (0.69, 0.69, 0.69, 1.0)
    line_mode: str = "slope"
    area_mode: str = "none"
    area_alpha: float | None = None
    line_width: float = 1.2
    font_size: float = 10.0
    y_min: float | None = None
    y_max: float | None = None
    hide_legend: bool | None = None
    """None: a legend when there are at most `LEGEND_MAX_ITEMS` series, as graphite-web."""
    hide_grid: bool = False
    hide_axes: bool = False
    graph_only: bool = False


def parse_options(params: MultiDict) -> PictureOptions:
    """The options a `/render` request asks for; colours from `template`, then the URL."""
    chosen = template(params.get("template") or "default")
    y_min = _number(params, "yMin")
    y_max = _number(params, "yMax")
    if y_min is not None and y_max is not None and y_min >= y_max:
        raise BadRequest("yMin must be below yMax")
    area_alpha = _number(params, "areaAlpha")
    if area_alpha is not None and not 0 <= area_alpha <= 1:
        raise BadRequest("areaAlpha must be between 0 and 1")
    return PictureOptions(
        width=_pixels(params, "width", 330),
        height=_pixels(params, "height", 250),
        title=params.get("title", "")[:500],
        vtitle=params.get("vtitle", "")[:500],
        colors=parse_colors(params.get("colorList") or chosen.line_colors, "colorList"),
        background=parse_color(params.get("bgcolor") or chosen.background, "bgcolor"),
        foreground=parse_color(params.get("fgcolor") or chosen.foreground, "fgcolor"),
        major_line=parse_color(
            params.get("majorGridLineColor") or chosen.major_line, "majorGridLineColor"
        ),
        minor_line=parse_color(
            params.get("minorGridLineColor") or chosen.minor_line, "minorGridLineColor"
        ),
        line_mode=_choice(params, "lineMode", LINE_MODES),
        area_mode=_choice(params, "areaMode", AREA_MODES),
        area_alpha=area_alpha,
        line_width=_bounded(params, "lineWidth", 1.2, 0.1, 50),
        font_size=_bounded(params, "fontSize", 10, 1, 100),
        y_min=y_min,
        y_max=y_max,
        hide_legend=_flag(params, "hideLegend"),
        hide_grid=bool(_flag(params, "hideGrid")),
        hide_axes=bool(_flag(params, "hideAxes")),
        graph_only=bool(_flag(params, "graphOnly")),
    )


def _pixels(params: MultiDict, name: str, default: int) -> int:
    value = _number(params, name)
    if value is None:
        return default
    if not 1 <= value <= MAX_PIXELS:
        raise BadRequest(f"{name} must be between 1 and {MAX_PIXELS} pixels")
    return int(value)


def _bounded(params: MultiDict, name: str, default: float, low: float, high: float) -> float:
    value = _number(params, name)
    if value is None:
        return default
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low:g} and {high:g}")
    return value


def _number(params: MultiDict, name: str) -> float | None:
    text = params.get(name)
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(f"{name} must be a number, not {text[:40]!r}") from None
    if not math.isfinite(value):
        raise BadRequest(f"{name} must be a finite number, not {text[:40]!r}")
    return value


def _choice(params: MultiDict, name: str, allowed: tuple[str, ...]) -> str:
    value = params.get(name) or allowed[0]
    if value not in allowed:
        raise BadRequest(f"{name} must be one of {', '.join(allowed)}, not {value[:40]!r}")
    return value


def _flag(params: MultiDict, name: str) -> bool | None:
    text = params.get(name)
    if text is None:
        return None
    if text.lower() in _TRUE or text == "":
        return True
    if text.lower() in _FALSE:
        return False
    raise BadRequest(f"{name} must be true or false, not {text[:40]!r}")
