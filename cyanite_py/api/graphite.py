"""graphite-web's HTTP API, as Grafana's Graphite data source uses it.

`/render` (GET, or POST with a form) evaluates targets and answers json, csv, raw, or a
png or svg picture;
`/metrics/find` and `/metrics/expand` browse the path tree; `/functions` describes the
functions served, `/version` names the graphite-web version whose behaviour this follows.
"""

from __future__ import annotations

import math
import re
from datetime import tzinfo
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import MultiDict
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from cyanite_py.api import cluster_formats
from cyanite_py.api.attime import parse_time, timezone
from cyanite_py.api.errors import BadRequest
from cyanite_py.api.functions import FUNCTIONS, Context, RenderSeries, describe, evaluate
from cyanite_py.api.functions.render import to_csv, to_json, to_raw
from cyanite_py.api.multipart import form_fields
from cyanite_py.api.offload import Evaluator, ThreadSource
from cyanite_py.api.picture import MEDIA_TYPES, Pictures
from cyanite_py.api.responses import json_bytes, json_response
from cyanite_py.api.target import parse
from cyanite_py.index.base import Node

GRAPHITE_VERSION = "1.1.10"
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_CALLBACK = re.compile(r"[A-Za-z_$][\w$.]{0,99}", re.ASCII)
_NO_CACHE = {"Pragma": "no-cache", "Cache-Control": "no-cache"}


def routes(reader: Evaluator, pictures: Pictures, jsonp: bool = False) -> list[Route]:
    """The graphite-web routes, reading and evaluating through `reader` and drawing with
    `pictures`; `jsonp` allows `/render?jsonp=callback`."""
    both = ["GET", "POST"]

    async def render(request: Request) -> Response:
        return await _render(reader, pictures, await _params(request), jsonp)

    async def find(request: Request) -> Response:
        return await _find(reader, await _params(request))

    async def expand(request: Request) -> Response:
        return await _expand(reader, await _params(request))

    async def version(request: Request) -> Response:
        return PlainTextResponse(GRAPHITE_VERSION)

    async def functions(request: Request) -> Response:
        return _functions(await _params(request))

    async def function(request: Request) -> Response:
        found = FUNCTIONS.get(request.path_params["name"])
        if found is None:
            return json_response(
                {"message": f"function not found: {request.path_params['name']}"}, 404
            )
        return json_bytes(orjson.dumps(describe(found)))

    return [
        Route("/render", render, methods=both),
        Route("/render/", render, methods=both),
        Route("/metrics/find", find, methods=both),
        Route("/metrics/find/", find, methods=both),
        Route("/metrics/expand", expand, methods=both),
        Route("/version", version, methods=both),
        Route("/functions", functions, methods=["GET"]),
        Route("/functions/{name}", function, methods=["GET"]),
    ]


async def _params(request: Request) -> MultiDict:
    """Query parameters and, for a form POST (urlencoded, or multipart as graphite-web's
    cluster client posts), the form's fields."""
    items = list(request.query_params.multi_items())
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";")[0].strip()
    if request.method == "POST" and kind == _FORM:
        body = (await request.body()).decode("utf-8", errors="replace")
        items.extend(parse_qsl(body, keep_blank_values=True))
    elif request.method == "POST" and kind == _MULTIPART:
        items.extend(form_fields(content_type, await request.body()))
    return MultiDict(items)


async def _render(
    reader: Evaluator, pictures: Pictures, params: MultiDict, allow_jsonp: bool
) -> Response:
    targets = [t for t in (*params.getlist("target"), *params.getlist("target[]")) if t.strip()]
    start, end, now, tz, factor = _range(reader.now(), params)
    fmt = "raw" if "rawData" in params else params.get("format", _default_format(params))
    if fmt not in ("json", "csv", "raw", *MEDIA_TYPES, *cluster_formats.MEDIA_TYPES):
        raise BadRequest(
            f"format {fmt!r} is not served; use json, csv, raw, png, svg, pickle or msgpack"
        )
    picture = pictures.options(params) if fmt in MEDIA_TYPES else None
    max_points = _max_data_points(params.get("maxDataPoints"))
    no_null_points = "noNullPoints" in params
    jsonp = params.get("jsonp")
    if jsonp and not allow_jsonp:
        raise BadRequest("jsonp is not served (api.jsonp is off)")
    if jsonp and not _CALLBACK.fullmatch(jsonp):
        raise BadRequest("jsonp must name a function: letters, digits, _, $ and .")

    async def job(source: ThreadSource) -> bytes:
        ctx = Context(
            source, start, end, now, FUNCTIONS, tz, factor, source.budget, source.deadline
        )
        data: list[RenderSeries] = []
        for target in targets:
            try:
                data.extend(await evaluate(parse(target), ctx))
            except ValueError as error:
                raise BadRequest(f"bad target {target[:200]!r}: {error}") from None
        if fmt == "csv":
            return to_csv(data, tz).encode()
        if fmt == "raw":
            return to_raw(data).encode()
        if picture is not None:
            return pictures.draw(data, picture, fmt, (start, end), tz, source.deadline)
        if fmt in cluster_formats.MEDIA_TYPES:
            return cluster_formats.encode(fmt, cluster_formats.series_infos(data))
        return to_json(data, max_points, no_null_points)

    return _response(await reader.run(job), fmt, jsonp)


def _default_format(params: MultiDict) -> str:
    """json, or pickle when asked with graphite-web's older `pickle` parameter."""
    return "pickle" if "pickle" in params else "json"


def _response(body: bytes, fmt: str, jsonp: str | None) -> Response:
    """`/render`'s answer in `fmt`, not to be cached: it changes as points arrive."""
    if fmt in MEDIA_TYPES:
        return Response(body, media_type=MEDIA_TYPES[fmt], headers=_NO_CACHE)
    if fmt in cluster_formats.MEDIA_TYPES:
        return Response(body, media_type=cluster_formats.MEDIA_TYPES[fmt], headers=_NO_CACHE)
    if fmt == "csv":
        return Response(body, media_type="text/csv", headers=_NO_CACHE)
    if fmt == "raw":
        return PlainTextResponse(body, headers=_NO_CACHE)
    if jsonp:
        wrapped = jsonp.encode() + b"(" + body + b")"
        return Response(wrapped, media_type="text/javascript", headers=_NO_CACHE)
    return Response(body, media_type="application/json", headers=_NO_CACHE)


def _range(now: int, params: MultiDict) -> tuple[int, int, int, tzinfo, float]:
    """`from` (default -1d) to `until` (default now) in zone `tz`, `now` and xFilesFactor.

    Nothing is stored before the epoch, so a range reaching back further starts there.
    """
    try:
        tz = timezone(params.get("tz"))
        if params.get("now"):
            now = parse_time(params["now"], now, tz)
        first = parse_time(params.get("from") or "-1d", now, tz)
        last = parse_time(params.get("until") or "now", now, tz)
        factor = float(params.get("xFilesFactor", 0))
    except ValueError as error:
        raise BadRequest(str(error)) from None
    if first == last:
        raise BadRequest("invalid empty time range: from and until are the same time")
    if not 0 <= factor <= 1:
        raise BadRequest("xFilesFactor must be between 0 and 1")
    start, end = max(min(first, last), 0), max(max(first, last), 1)
    return start, end, now, tz, factor


def _max_data_points(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(f"maxDataPoints must be a number, not {text[:40]!r}") from None
    if not math.isfinite(value):
        raise BadRequest(f"maxDataPoints must be a finite number, not {text[:40]!r}")
    if value < 1:
        raise BadRequest("maxDataPoints must be at least 1")
    return int(min(value, 2**62))


async def _find(reader: Evaluator, params: MultiDict) -> Response:
    query = params.get("query")
    if not query:
        raise BadRequest("missing parameter: query")
    fmt = params.get("format", "treejson")
    wildcards = params.get("wildcards") in ("1", "true")
    if fmt not in ("treejson", "completer", *cluster_formats.MEDIA_TYPES):
        raise BadRequest(
            f"format {fmt!r} is not served; use treejson, completer, pickle or msgpack"
        )

    async def job(source: ThreadSource) -> bytes:
        if fmt == "completer":
            return _completer(await source.find(_completer_query(query)), wildcards)
        if fmt in cluster_formats.MEDIA_TYPES:
            return _cluster_nodes(fmt, await source.find(query), source)
        base = query.rsplit(".", 1)[0] + "." if "." in query else ""
        return orjson.dumps(tree_json(await source.find(query), base, wildcards))

    body = await reader.run(job)
    if fmt in cluster_formats.MEDIA_TYPES:
        return Response(body, media_type=cluster_formats.MEDIA_TYPES[fmt], headers=_NO_CACHE)
    return json_bytes(body)


def _cluster_nodes(fmt: str, nodes: list[Node], source: ThreadSource) -> bytes:
    """The nodes for a graphite-web front end; a leaf may hold data from the start of its
    longest retention until now."""
    now = source.now()

    def interval(path: str) -> cluster_formats.Interval:
        return source.reader.clamp([path], 0, now)

    return cluster_formats.encode(fmt, cluster_formats.node_infos(nodes, interval))


def tree_json(nodes: list[Node], base: str, wildcards: bool) -> list[dict[str, object]]:
    """graphite-web's treejson: branches first, then leaves, one entry per name."""
    branches: list[dict[str, object]] = []
    leaves: list[dict[str, object]] = []
    seen: set[str] = set()
    for node in nodes:
        if node.name in seen:
            continue
        seen.add(node.name)
        entry = _tree_node(node.name, base + node.name, node.leaf, node.branch)
        (branches if node.branch else leaves).append(entry)
    if wildcards and len(nodes) > 1:
        star = _tree_node("*", base + "*", not branches, bool(branches))
        return [star, *branches, *leaves]
    return [*branches, *leaves]


def _tree_node(text: str, path: str, leaf: bool, branch: bool) -> dict[str, object]:
    return {
        "text": text,
        "id": path,
        "leaf": int(leaf),
        "expandable": int(branch),
        "allowChildren": int(branch),
        "context": {},
    }


def _completer_query(query: str) -> str:
    query = query.replace("..", "*.")
    return query if query.endswith("*") else query + "*"


def _completer(nodes: list[Node], wildcards: bool) -> bytes:
    """graphite-web's completer entries ordered by node name: a node that is both a
    branch and a leaf gives two, the branch (its path ending in a dot) first."""
    metrics: list[dict[str, str]] = []
    for node in sorted(nodes, key=lambda node: node.name):
        if node.branch:
            metrics.append({"path": node.path + ".", "name": node.name, "is_leaf": "0"})
        if node.leaf:
            metrics.append({"path": node.path, "name": node.name, "is_leaf": "1"})
    if wildcards and len(metrics) > 1:
        metrics.append({"name": "*"})
    return orjson.dumps({"metrics": metrics})


async def _expand(reader: Evaluator, params: MultiDict) -> Response:
    queries = params.getlist("query")
    if not queries:
        raise BadRequest("missing parameter: query")
    leaves_only = params.get("leavesOnly") in ("1", "true")
    by_expression = params.get("groupByExpr") in ("1", "true")

    async def job(source: ThreadSource) -> bytes:
        grouped: dict[str, list[str]] = {}
        for query in queries:  # an index answers each path once, sorted
            nodes = await source.find(query)
            grouped[query] = [node.path for node in nodes if node.leaf or not leaves_only]
        if by_expression:
            return orjson.dumps({"results": grouped})
        if len(grouped) == 1:
            return orjson.dumps({"results": next(iter(grouped.values()))})
        merged = sorted({path for paths in grouped.values() for path in paths})
        return orjson.dumps({"results": merged})

    return json_bytes(await reader.run(job))


def _functions(params: MultiDict) -> Response:
    """Every function's description, keyed by name, or by group then name when `grouped`."""
    group = params.get("group")
    chosen = [f for f in FUNCTIONS.values() if group is None or f.group == group]
    if params.get("grouped", "").lower() in ("1", "true"):
        by_group: dict[str, dict[str, object]] = {}
        for function in chosen:
            by_group.setdefault(function.group, {})[function.name] = describe(function)
        return Response(orjson.dumps(by_group), media_type="application/json")
    listed = {function.name: describe(function) for function in chosen}
    return Response(orjson.dumps(listed), media_type="application/json")
