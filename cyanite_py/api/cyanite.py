"""Cyanite's own API: `/ping`, `/paths` and `/metrics`."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cyanite_py.api.attime import parse_time
from cyanite_py.api.errors import BadRequest, require
from cyanite_py.api.offload import Evaluator, ThreadSource
from cyanite_py.api.responses import json_bytes, json_ready, json_response
from cyanite_py.model import Aggregate
from cyanite_py.query import regrid


def routes(reader: Evaluator) -> list[Route]:
    async def ping(request: Request) -> Response:
        return json_response({"response": "pong"})

    async def paths(request: Request) -> Response:
        query = require(request, "query")

        async def job(source: ThreadSource) -> bytes:
            return orjson.dumps(
                [
                    {
                        "path": node.path,
                        "text": node.name,
                        "id": node.path,
                        "leaf": int(node.leaf),
                        "expandable": int(node.branch),
                        "allowChildren": int(node.branch),
                    }
                    for node in await source.find(query)
                ]
            )

        return json_bytes(await reader.run(job))

    async def metrics(request: Request) -> Response:
        params = request.query_params
        patterns = params.getlist("path")
        if not patterns or not all(patterns):
            raise BadRequest("missing parameter: path")
        aggregate = _aggregate(params.get("agg"))
        now = reader.now()
        start = max(_time(require(request, "from"), now, "from"), 0)
        end = _time(params.get("to", "now"), now, "to")
        if end < start:
            raise BadRequest("to is before from")

        async def job(source: ThreadSource) -> bytes:
            found = await source.fetch(await source.expand(patterns), start, end, aggregate)
            step = max((series.step for series in found), default=None)
            if step is not None:
                found = [regrid(series, step) for series in found]
            return orjson.dumps(
                {
                    "from": min((s.start for s in found), default=start),
                    "to": max((s.end for s in found), default=end),
                    "step": step,
                    "series": {series.path: json_ready(series.values) for series in found},
                },
                option=orjson.OPT_SERIALIZE_NUMPY,
            )

        return json_bytes(await reader.run(job))

    return [
        Route("/ping", ping),
        Route("/paths", paths),
        Route("/metrics", metrics),
    ]


def _time(text: str, now: int, name: str) -> int:
    try:
        return parse_time(text, now)
    except ValueError as error:
        raise BadRequest(f"bad {name}: {error}") from None


def _aggregate(text: str | None) -> Aggregate | None:
    """`agg`, if given: else each path's rule says."""
    if text is None:
        return None
    try:
        return Aggregate.parse(text)
    except ValueError as error:
        raise BadRequest(f"agg {error}") from None
