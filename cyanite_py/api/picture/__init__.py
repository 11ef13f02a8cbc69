"""`/render?format=png` and `format=svg`: graphite-web's pictures, drawn with matplotlib.

matplotlib loads with the first picture, not at start-up, so a server that never draws
starts as fast as before.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import tzinfo

from starlette.datastructures import MultiDict

from cyanite_py.api.errors import BadRequest
from cyanite_py.api.functions.series import RenderSeries
from cyanite_py.api.limits import Deadline
from cyanite_py.api.picture.options import PictureOptions, parse_options
from cyanite_py.counters import Registry

MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
"""The picture formats `/render` serves, with their content types."""

MAX_SERIES = 1000
"""Series one picture draws at most: more cannot be told apart, and would only cost time."""


class Pictures:
    """Reads picture options, draws pictures, and counts what it drew."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def options(self, params: MultiDict) -> PictureOptions:
        """The request's picture options, or a 400 for the first bad one."""
        return parse_options(params)

    def draw(
        self,
        data: Sequence[RenderSeries],
        options: PictureOptions,
        fmt: str,
        span: tuple[int, int],
        tz: tzinfo,
        deadline: Deadline,
    ) -> bytes:
        """The picture as `fmt` (png or svg) bytes; called in the request's worker thread."""
        from cyanite_py.api.picture.draw import draw

        if len(data) > MAX_SERIES:
            raise BadRequest(
                f"{len(data)} series are too many to draw (at most {MAX_SERIES}); "
                "narrow the targets or combine them, e.g. with sumSeries or highestMax"
            )
        started = time.perf_counter()
        body = draw(data, options, fmt, span, tz, deadline)
        labels = {"format": fmt}
        self._registry.counter("api_pictures_drawn", "PNG and SVG pictures drawn", **labels).inc()
        self._registry.counter(
            "api_picture_microseconds", "time spent drawing pictures, summed", **labels
        ).inc(round((time.perf_counter() - started) * 1e6))
        return body
