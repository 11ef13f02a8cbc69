"""The built-in page at `/`: browse the path tree, plot series, see how the server is doing.

Plain HTML, JavaScript and CSS in `static/`, with uPlot vendored beside them, served as
files: nothing to build and nothing to fetch at run time. The page reads the same routes
as any client (`/metrics/find`, `/render`) plus `/status`.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from cyanite_py.api.responses import json_response
from cyanite_py.api.web.status import Status
from cyanite_py.counters import Registry
from cyanite_py.query import Reader

STATIC = Path(__file__).parent / "static"
_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
"""The page runs its own files only: a path name can never become a script."""


def routes(reader: Reader, registry: Registry) -> list[BaseRoute]:
    """`/` (the page), `/static/…` (its files) and `/status` (its status view's data)."""
    status = Status(reader, registry)

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": _POLICY})

    async def report(request: Request) -> Response:
        return json_response(await status.report())

    return [
        Route("/", page, methods=["GET"]),
        Route("/status", report, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
