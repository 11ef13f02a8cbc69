"""Errors a handler raises for the client's mistakes, and the JSON responses they become."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from cyanite_py.api.responses import json_response


class BadRequest(ValueError):
    """The request's parameters are wrong; the message says which and why."""


def message(status: int, text: str) -> Response:
    return json_response({"message": text}, status_code=status)


def require(request: Request, name: str) -> str:
    """A query parameter that must be present and non-empty."""
    value = request.query_params.get(name)
    if not value:
        raise BadRequest(f"missing parameter: {name}")
    return value
