"""graphite-web's colours and graph templates, so its URLs draw in the colours they name.

A colour is one of graphite-web's names (`blue`, `rose`, `darkgrey`, …) or hex digits
`RGB`, `RRGGBB` or `RRGGBBAA`, with or without a leading `#` (URLs usually leave it out,
as `#` would start the fragment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cyanite_py.api.errors import BadRequest

Color = tuple[float, float, float, float]
"""Red, green, blue and alpha, each 0 to 1, as matplotlib takes them."""

_NAMED = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "blue": (100, 100, 255),
    "green": (0, 200, 0),
    "red": (255, 0, 0),
    "yellow": (255, 255, 0),
    "orange": (255, 165, 0),
    "purple": (200, 100, 255),
    "brown": (150, 100, 50),
    "cyan": (0, 255, 255),
    "aqua": (0, 150, 150),
    "gray": (175, 175, 175),
    "grey": (175, 175, 175),
    "magenta": (255, 0, 255),
    "pink": (255, 100, 100),
    "gold": (200, 200, 0),
    "rose": (200, 150, 200),
    "darkblue": (0, 0, 255),
    "darkgreen": (0, 255, 0),
    "darkred": (200, 0, 50),
    "darkgray": (111, 111, 111),
    "darkgrey": (111, 111, 111),
}
_HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")


def parse_color(text: str, parameter: str) -> Color:
    """A named or hex colour; anything else is a 400 naming `parameter`."""
    named = _NAMED.get(text.strip().lower())
    if named is not None:
        return (named[0] / 255, named[1] / 255, named[2] / 255, 1.0)
    found = _HEX.fullmatch(text.strip())
    if found is None:
        raise BadRequest(
            f"{parameter}: {text[:40]!r} is not a colour; use a name such as blue or hex "
            "digits RRGGBB or RRGGBBAA"
        )
    digits = found.group(1)
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in range(0, len(digits), 2)]
    return (channels[0], channels[1], channels[2], channels[3] if len(channels) == 4 else 1.0)


def parse_colors(text: str, parameter: str) -> tuple[Color, ...]:
    """A comma-separated list of colours, at least one."""
    colors = tuple(parse_color(part, parameter) for part in text.split(",") if part.strip())
    if not colors:
        raise BadRequest(f"{parameter} names no colour")
    return colors


@dataclass(frozen=True, slots=True)
class Template:
    """A graphite-web graph template: the colours of a picture when the URL names none."""

    background: str = "black"
    foreground: str = "white"
    major_line: str = "white"
    minor_line: str = "grey"
    line_colors: str = "blue,green,red,purple,brown,yellow,aqua,grey,magenta,pink,gold,rose"


TEMPLATES = {
    "default": Template(),
    "noc": Template(
        line_colors="blue,green,red,yellow,purple,brown,aqua,grey,magenta,pink,gold,rose"
    ),
    "plain": Template(background="white", foreground="black", major_line="rose"),
    "summary": Template(line_colors="6666ff,66ff66,ff6666"),
    "alphas": Template(
        background="white",
        foreground="black",
        major_line="grey",
        minor_line="rose",
        line_colors="00ff00aa,ff000077,00337799",
    ),
}
"""The templates of graphite-web's `graphTemplates.conf.example`."""


def template(name: str) -> Template:
    found = TEMPLATES.get(name)
    if found is None:
        raise BadRequest(f"template {name[:40]!r} is not known; use one of {', '.join(TEMPLATES)}")
    return found
