"""JSON responses encoded with orjson: NaN and infinities become null."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


def json_response(content: Any, status_code: int = 200) -> Response:
    return Response(
        orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status_code,
        media_type="application/json",
    )


def json_bytes(body: bytes, status_code: int = 200) -> Response:
    """A response of JSON already encoded (in a worker thread)."""
    return Response(body, status_code=status_code, media_type="application/json")
