"""graphite-web's events API, which Grafana's Graphite annotations read.

- `POST /events/` adds an event: `{"what", "tags" (a list or a space-separated string),
  "data", "when" (epoch seconds, default now)}`.
- `GET /events/get_data?from=&until=&tags=a b&set=union|intersection` lists events as
  `[{"when", "what", "data", "tags", "id"}]`, oldest first. `set=union` keeps events with
  any of the tags, `set=intersection` those with all of them, and no `set` (what Grafana
  sends) those with all of the tags that some event ever carried, as graphite-web does.
- `GET /events/` lists the same as a page (or as JSON when asked for JSON);
  `GET /events/<id>/` shows one (JSON when the `Accept` header is `application/json`);
  `DELETE /events/<id>/` removes one (graphite-web deletes only in its admin pages).

Every answer holds at most `api.max_events` events and every posted event at most
`api.max_event_size` bytes; the server's authentication guards these routes as all others.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from cyanite_py.api import event_pages
from cyanite_py.api.attime import LATEST, parse_time, timezone
from cyanite_py.api.errors import BadRequest, message
from cyanite_py.api.limits import LimitExceeded
from cyanite_py.api.responses import json_bytes
from cyanite_py.counters import Registry
from cyanite_py.store.base import EventStore
from cyanite_py.store.events import Event, EventQuery, NewEvent, split_tags, tagged_query

MAX_QUERY_TAGS = 100
"""Tags one query may name."""
MAX_EVENT_ID = 2**63 - 1
_JSON = "application/json"
_TAGS_MESSAGE = '"tags" must be an array or space-separated string'


@dataclass(frozen=True, slots=True)
class EventLimits:
    """The configured bounds (see `ApiConfig`)."""

    max_events: int
    max_event_size: int


def routes(
    events: EventStore, limits: EventLimits, registry: Registry, clock: Callable[[], float]
) -> list[Route]:
    """The `/events` routes over `events`; `clock` gives now (for `when` and `until`)."""
    added = registry.counter("api_events_added", "Events posted and stored")
    deleted = registry.counter("api_events_deleted", "Events deleted")

    async def collection(request: Request) -> Response:
        if request.method == "POST":
            new = parse_event(await request.body(), limits.max_event_size, clock())
            event = await events.add_event(new)
            added.inc()
            return json_bytes(orjson.dumps({"id": event.id}))
        found = await _find(events, request, limits, clock())
        if _accept(request).startswith(_JSON):
            return json_bytes(orjson.dumps([listed(event) for event in found]))
        return HTMLResponse(event_pages.listing(found))

    async def get_data(request: Request) -> Response:
        if "jsonp" in request.query_params:
            raise BadRequest("jsonp is not served for events")
        found = await _find(events, request, limits, clock())
        return json_bytes(orjson.dumps([listed(event) for event in found]))

    async def detail(request: Request) -> Response:
        event_id: int = request.path_params["event_id"]
        if request.method == "DELETE":
            if event_id > MAX_EVENT_ID or not await events.delete_event(event_id):
                return _not_found(event_id)
            deleted.inc()
            return Response(status_code=204)
        event = None if event_id > MAX_EVENT_ID else await events.get_event(event_id)
        if event is None:
            return _not_found(event_id)
        if _accept(request) == _JSON:
            return json_bytes(orjson.dumps(detailed(event)))
        return HTMLResponse(event_pages.detail(event))

    both = ["GET", "POST"]
    one = ["GET", "DELETE"]
    return [
        Route("/events", collection, methods=both),
        Route("/events/", collection, methods=both),
        Route("/events/get_data", get_data, methods=both),
        Route("/events/{event_id:int}", detail, methods=one),
        Route("/events/{event_id:int}/", detail, methods=one),
    ]


def parse_event(body: bytes, max_size: int, now: float) -> NewEvent:
    """A posted event, checked as graphite-web reads it, each mistake a `BadRequest`."""
    if len(body) > max_size:
        raise LimitExceeded(f"event of {len(body)} bytes, over api.max_event_size ({max_size})")
    try:
        posted = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise BadRequest(f"the event is not JSON: {error}") from None
    if not isinstance(posted, dict):
        raise BadRequest("the event must be a JSON object")
    what = posted.get("what")
    if not isinstance(what, str):
        raise BadRequest('"what" must be a string')
    return NewEvent(_when(posted.get("when"), now), what, _data(posted.get("data")), _tags(posted))


def _when(value: Any, now: float) -> float:
    if value is None:
        return now
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest('"when" must be a number of seconds since the epoch')
    if not (math.isfinite(value) and 0 <= value <= LATEST):
        raise BadRequest('"when" must be between 0 (1970) and the end of year 9999')
    return float(value)


def _data(value: Any) -> str:
    """Text as posted; anything else as its JSON text, so nothing posted is lost."""
    if value is None:
        return ""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _tags(posted: dict[str, Any]) -> tuple[str, ...]:
    tags = posted.get("tags")
    if tags is None:
        return ()
    if isinstance(tags, str):
        return split_tags([tags])
    if isinstance(tags, list) and all(isinstance(tag, str) for tag in tags):
        return split_tags(tags)
    raise BadRequest(_TAGS_MESSAGE)


async def _find(
    events: EventStore, request: Request, limits: EventLimits, now: float
) -> list[Event]:
    """The events a listing asks for, or a 400 when more than `max_events` match."""
    query = await event_query(events, request.query_params, limits.max_events + 1, int(now))
    if query is None:
        return []
    found = await events.find_events(query)
    if len(found) > limits.max_events:
        raise LimitExceeded(
            f"more than {limits.max_events} events match, over api.max_events; "
            "ask for a shorter range or more tags"
        )
    return found


async def event_query(events: EventStore, params: Any, limit: int, now: int) -> EventQuery | None:
    """The query of `from` (default the epoch), `until` (default now), `tags` and `set`;
    None when no event can match (graphite-web's default match with no tag ever used)."""
    tz = timezone(None)
    try:
        start = parse_time(params["from"], now, tz) if params.get("from") else 0
        end = parse_time(params["until"], now, tz) if params.get("until") else now
    except ValueError as error:
        raise BadRequest(str(error)) from None
    if "tags" not in params:
        return EventQuery(start, end, limit)
    tags = split_tags([params["tags"]])
    if len(tags) > MAX_QUERY_TAGS:
        raise BadRequest(f"at most {MAX_QUERY_TAGS} tags, not {len(tags)}")
    return await tagged_query(events, start, end, limit, tags, params.get("set"))


def listed(event: Event) -> dict[str, object]:
    """An event as `get_data` lists it: `when` in whole seconds."""
    return {
        "when": math.floor(event.when),
        "what": event.what,
        "data": event.data,
        "tags": list(event.tags),
        "id": event.id,
    }


def detailed(event: Event) -> dict[str, object]:
    """An event as `/events/<id>/` shows it in JSON: `when` as an ISO 8601 time in UTC,
    to the millisecond when it has a fraction, as Django writes times."""
    moment = datetime.fromtimestamp(event.when, UTC)
    text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return {
        "id": event.id,
        "when": text.replace("+00:00", "Z"),
        "what": event.what,
        "data": event.data,
        "tags": list(event.tags),
    }


def _accept(request: Request) -> str:
    return request.headers.get("accept", "")


def _not_found(event_id: int) -> Response:
    return message(404, f"no event {event_id}")
