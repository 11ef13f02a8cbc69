"""The HTTP server: one starlette app with both APIs, served by hypercorn under trio."""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any

import hypercorn.config
import hypercorn.trio
import trio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cyanite_py.api import cyanite, events, graphite, protocol_errors, tags, web
from cyanite_py.api.auth import RequireCredentials
from cyanite_py.api.bounded import ReadLimits
from cyanite_py.api.config import ApiConfig
from cyanite_py.api.errors import BadRequest, message
from cyanite_py.api.limits import TimedOut
from cyanite_py.api.offload import Evaluator
from cyanite_py.api.picture import Pictures
from cyanite_py.counters import Registry
from cyanite_py.index.base import IndexUnavailable
from cyanite_py.index.glob import GlobError
from cyanite_py.query import Reader
from cyanite_py.reporter import prometheus_text
from cyanite_py.store.base import EventStore, StoreUnavailable

log = logging.getLogger(__name__)
ACCESS_LOG = logging.getLogger("cyanite_py.access")


class PayloadTooLarge(BadRequest):
    """A request body over `max_body_size`."""


def build_app(
    reader: Reader,
    registry: Registry,
    config: ApiConfig | None = None,
    event_store: EventStore | None = None,
) -> Starlette:
    """The app with every route (`/events` given an `event_store`); a plain value, so
    tests can drive it in-process."""
    config = config or ApiConfig()

    async def prometheus(request: Request) -> Response:
        return PlainTextResponse(prometheus_text(registry), media_type="text/plain; version=0.0.4")

    limits = ReadLimits(
        config.max_points,
        config.max_glob_alternatives,
        config.max_future,
        config.max_tag_series,
        config.max_events,
    )
    evaluator = Evaluator(reader, limits, config.max_concurrent, config.timeout, registry)
    routes = [
        *cyanite.routes(evaluator),
        *graphite.routes(evaluator, Pictures(registry), jsonp=config.jsonp),
        *tags.routes(reader.tags, tags.TagLimits.of(config)),
        Route("/prometheus", prometheus),
        *web.routes(reader, registry),
    ]
    if event_store is not None:
        bounds = events.EventLimits(config.max_events, config.max_event_size)
        routes += events.routes(event_store, bounds, registry, reader.now)

    async def bad_request(request: Request, error: Exception) -> Response:
        status = 413 if isinstance(error, PayloadTooLarge) else 400
        return message(status, str(error))

    async def unavailable(request: Request, error: Exception) -> Response:
        log.warning("answering 503: %s", error)
        return message(503, f"backend unavailable: {error}")

    async def timed_out(request: Request, error: Exception) -> Response:
        return message(503, str(error))

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        return message(error.status_code, error.detail)

    app = Starlette(
        routes=routes,
        exception_handlers={
            BadRequest: bad_request,
            GlobError: bad_request,
            TimedOut: timed_out,
            IndexUnavailable: unavailable,
            StoreUnavailable: unavailable,
            HTTPException: http_error,
        },
    )
    if config.username is not None or config.token is not None:
        app.add_middleware(
            RequireCredentials,
            registry=registry,
            username=config.username,
            password=config.password,
            token=config.token,
        )
    known = frozenset(route.path for route in routes if isinstance(route, Route))
    app.add_middleware(
        _Guard, registry=registry, max_body_size=config.max_body_size, known_routes=known
    )
    return app


_NOSNIFF = (b"x-content-type-options", b"nosniff")


class _Guard:
    """Counts requests and their latency per route, bounds request bodies, and tells
    browsers not to guess content types (so no answer is run as a script)."""

    def __init__(
        self, app: ASGIApp, registry: Registry, max_body_size: int, known_routes: frozenset[str]
    ) -> None:
        self.app = app
        self.registry = registry
        self.max_body_size = max_body_size
        self.known_routes = known_routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        route = self._route_name(scope["path"])
        declared = dict(scope.get("headers", ())).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_body_size:
            response = message(413, f"request body over {self.max_body_size} bytes")
            await response(scope, receive, send)
            self._count(route, 413, started)
            return
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            event = await receive()
            received += len(event.get("body", b""))
            if received > self.max_body_size:
                raise PayloadTooLarge(f"request body over {self.max_body_size} bytes")
            return event

        async def watching_send(event: Message) -> None:
            nonlocal status
            if event["type"] == "http.response.start":
                status = event["status"]
                event = {**event, "headers": [*event.get("headers", ()), _NOSNIFF]}
            await send(event)

        try:
            await self.app(scope, bounded_receive, watching_send)
        finally:
            self._count(route, status, started)

    def _route_name(self, path: str) -> str:
        """A bounded set of label values: the app's routes, the page's files, else `other`."""
        if path.startswith("/static/"):
            return "/static"
        return path if path in self.known_routes else "other"

    def _count(self, route: str, status: int, started: float) -> None:
        self.registry.counter(
            "api_requests", "HTTP requests answered", route=route, status=str(status)
        ).inc()
        elapsed = round((time.perf_counter() - started) * 1e6)
        self.registry.counter(
            "api_request_microseconds", "time spent answering, summed", route=route
        ).inc(elapsed)


class ApiServer:
    """Serves an ASGI app over HTTP; `run` reports the port it bound."""

    def __init__(self, config: ApiConfig, app: Any) -> None:
        self.config = config
        self._app = app

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        protocol_errors.install()
        settings = hypercorn.config.Config()
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        settings.bind = [f"{host}:{self.config.port}"]
        settings.certfile = self.config.certfile
        settings.keyfile = self.config.keyfile
        settings.accesslog = ACCESS_LOG if self.config.access_log else None
        settings.access_log_format = '%(h)s %(m)s %(U)s "%(q)s" %(s)s %(b)s bytes %(D)sus "%(a)s"'
        settings.graceful_timeout = 1.0
        settings.loglevel = "WARNING"
        async with trio.open_nursery() as nursery:
            serve = partial(hypercorn.trio.serve, self._app, settings)
            binds: list[str] = await nursery.start(
                partial(serve, shutdown_trigger=trio.sleep_forever)
            )
            port = int(binds[0].rsplit(":", 1)[1])
            log.info("HTTP API listening on %s", ", ".join(binds))
            task_status.started(port)
