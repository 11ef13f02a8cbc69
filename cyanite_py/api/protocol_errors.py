"""JSON messages for requests refused before they reach the app.

hypercorn answers a request that h11 cannot parse (a raw non-ASCII byte in the URL, a
malformed request line or header) with a bare 400 and no body, so the client is never told
why. `install` gives those answers the same `{"message": ...}` body as every other error.
"""

from __future__ import annotations

import logging
from itertools import chain
from typing import Any

import h11
import orjson
from hypercorn.protocol.h11 import H11Protocol

log = logging.getLogger(__name__)

MESSAGES = {
    400: "the request is not valid HTTP/1.1; characters outside ASCII in the URL "
    "must be percent-encoded (UTF-8), as browsers and curl --data-urlencode do",
    431: "the request's headers are too large",
}


async def _send_json_error(self: Any, status_code: int) -> None:
    """hypercorn's `_send_error_response`, with a JSON body saying what was wrong."""
    text = MESSAGES.get(status_code, "the request could not be parsed")
    body = orjson.dumps({"message": text})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    response = h11.Response(
        status_code=status_code,
        headers=list(chain(headers, self.config.response_headers("h11"))),
    )
    await self._send_h11_event(response)
    await self._send_h11_event(h11.Data(data=body))
    await self._send_h11_event(h11.EndOfMessage())


def install() -> None:
    """Replace hypercorn's bodiless protocol-error answer (a hypercorn without that hook
    keeps its own)."""
    if not hasattr(H11Protocol, "_send_error_response"):
        log.debug("hypercorn has no _send_error_response: protocol errors answer bare")
        return
    H11Protocol._send_error_response = _send_json_error  # type: ignore[method-assign]
