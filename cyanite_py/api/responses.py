"""JSON responses encoded with orjson: NaN becomes null, and infinities ±1e9999, as
graphite-web writes them (JSON has no infinity), in both APIs alike."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from starlette.responses import Response

from cyanite_py.model import FloatArray

_POSITIVE_INFINITY = orjson.Fragment(b"1e9999")
_NEGATIVE_INFINITY = orjson.Fragment(b"-1e9999")


def json_response(content: Any, status_code: int = 200) -> Response:
    return Response(
        orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status_code,
        media_type="application/json",
    )


def json_bytes(body: bytes, status_code: int = 200) -> Response:
    """A response of JSON already encoded (in a worker thread)."""
    return Response(body, status_code=status_code, media_type="application/json")


def json_values(values: FloatArray) -> list[Any]:
    """Values as JSON-ready Python objects: NaN to null, infinities to ±1e9999."""
    listed: list[Any] = values.tolist()
    infinite = np.isinf(values)
    if infinite.any():
        for index in np.flatnonzero(infinite):
            listed[index] = _POSITIVE_INFINITY if values[index] > 0 else _NEGATIVE_INFINITY
    return listed


def json_ready(values: FloatArray) -> FloatArray | list[Any]:
    """`values` for orjson: the array itself unless it holds an infinity."""
    return json_values(values) if np.isinf(values).any() else values
