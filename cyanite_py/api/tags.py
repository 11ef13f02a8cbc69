"""graphite-web's tag routes, as Grafana's Graphite data source asks them.

`/tags` lists the tags and `/tags/<tag>` a tag's values with how many series hold each,
both by a `filter` regular expression anchored at their start; `/tags/findSeries` gives
the tagged paths that `expr` tag expressions match; `/tags/autoComplete/tags` and
`/tags/autoComplete/values` complete a tag or a value from a prefix, among the series
`expr` expressions match (all of them without any). The editor asks the last two as the
user types.

Every answer is bounded: findSeries refuses more than `api.max_tag_series` series, the
lists hold at most `api.max_tag_results` entries (`limit` cuts them shorter;
autocompletion lists 100 by default, as graphite-web does), and each request ends within
`api.timeout`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import parse_qsl

import orjson
import trio
from starlette.datastructures import MultiDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cyanite_py.api.config import ApiConfig
from cyanite_py.api.errors import BadRequest
from cyanite_py.api.limits import LimitExceeded, TimedOut
from cyanite_py.api.responses import json_bytes
from cyanite_py.index.base import TagIndex
from cyanite_py.tags import TagError, TagExpression, TagFilter, TagQuery

T = TypeVar("T")
AUTOCOMPLETE_LIMIT = 100
"""What autocompletion lists without a `limit`, as graphite-web's TAGDB_AUTOCOMPLETE_LIMIT."""
_FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class TagLimits:
    """The bounds of the tag routes (see `ApiConfig`)."""

    max_series: int
    max_results: int
    timeout: float

    @classmethod
    def of(cls, config: ApiConfig) -> TagLimits:
        return cls(config.max_tag_series, config.max_tag_results, config.timeout)


def routes(index: TagIndex, limits: TagLimits) -> list[Route]:
    """The `/tags` routes, answered from `index` within `limits`."""
    both = ["GET", "POST"]

    async def find_series(request: Request) -> Response:
        params = await _params(request)
        query = _query(_expressions(params))
        if query is None:
            raise BadRequest("no tag expressions given: expr=tag=value, repeatable")
        found = await _within(limits, index.find_series(query, limits.max_series + 1))
        if len(found) > limits.max_series:
            raise LimitExceeded(
                f"tag expressions {query} match more than {limits.max_series} series "
                "(api.max_tag_series); add an expression to narrow them"
            )
        return _json(found, params)

    async def tag_list(request: Request) -> Response:
        params = await _params(request)
        limit = _limit(params, limits.max_results, limits.max_results)
        found = await _within(limits, index.list_tags(_filter(params), limit))
        return _json([{"tag": tag} for tag in found], params)

    async def tag_details(request: Request) -> Response:
        params = await _params(request)
        tag = request.path_params["tag"]
        limit = _limit(params, limits.max_results, limits.max_results)
        values = await _within(limits, index.list_values(tag, _filter(params), limit))
        if not values and not await _within(limits, index.list_values(tag, None, 1)):
            return _json(None, params)  # graphite-web's answer for a tag no series holds
        listed = [{"value": found.value, "count": found.count} for found in values]
        return _json({"tag": tag, "values": listed}, params)

    async def autocomplete_tags(request: Request) -> Response:
        params = await _params(request)
        query = _query(_expressions(params))
        prefix = params.get("tagPrefix") or ""
        limit = _limit(params, AUTOCOMPLETE_LIMIT, limits.max_results)
        return _json(await _within(limits, index.autocomplete_tags(query, prefix, limit)), params)

    async def autocomplete_values(request: Request) -> Response:
        params = await _params(request)
        tag = params.get("tag")
        if not tag:
            raise BadRequest("missing parameter: tag")
        query = _query(_expressions(params), TagExpression.has(tag))
        prefix = params.get("valuePrefix") or ""
        limit = _limit(params, AUTOCOMPLETE_LIMIT, limits.max_results)
        found = await _within(limits, index.autocomplete_values(query, tag, prefix, limit))
        return _json(found, params)

    return [
        Route("/tags", tag_list, methods=["GET"]),
        Route("/tags/", tag_list, methods=["GET"]),
        Route("/tags/findSeries", find_series, methods=both),
        Route("/tags/autoComplete/tags", autocomplete_tags, methods=both),
        Route("/tags/autoComplete/values", autocomplete_values, methods=both),
        Route("/tags/{tag:path}", tag_details, methods=["GET"]),
    ]


async def _params(request: Request) -> MultiDict:
    """Query parameters and, for a form POST, the form's fields."""
    items = list(request.query_params.multi_items())
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if request.method == "POST" and content_type == _FORM:
        body = (await request.body()).decode("utf-8", errors="replace")
        items.extend(parse_qsl(body, keep_blank_values=True))
    return MultiDict(items)


def _expressions(params: MultiDict) -> list[str]:
    """`expr` repeated, or `expr[]` as jQuery writes lists."""
    return params.getlist("expr") or params.getlist("expr[]")


def _query(texts: list[str], *more: TagExpression) -> TagQuery | None:
    """The query `texts` write (with `more`), None without any text."""
    if not texts:
        return None
    try:
        return TagQuery.parse(texts, *more)
    except TagError as error:
        raise BadRequest(str(error)) from None


def _filter(params: MultiDict) -> TagFilter | None:
    text = params.get("filter")
    if not text:
        return None
    try:
        return TagFilter(text)
    except TagError as error:
        raise BadRequest(f"filter: {error}") from None


def _limit(params: MultiDict, default: int, most: int) -> int:
    """`limit` (else `default`), cut to `most`."""
    text = params.get("limit")
    if not text:
        return min(default, most)
    try:
        limit = int(text)
    except ValueError:
        raise BadRequest(f"limit must be a whole number, not {text[:40]!r}") from None
    if limit < 0:
        raise BadRequest("limit must not be negative")
    return min(limit, most)


async def _within(limits: TagLimits, work: Awaitable[T]) -> T:
    """`work`'s answer, or a 503 once it runs past `api.timeout`."""
    with trio.move_on_after(limits.timeout):
        return await work
    raise TimedOut(f"the request ran past api.timeout ({limits.timeout:g} s)")


def _json(content: object, params: MultiDict) -> Response:
    """`content` as JSON, indented with sorted keys when `pretty` is asked, as graphite-web
    writes it."""
    option = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS if params.get("pretty") else 0
    return json_bytes(orjson.dumps(content, option=option))
