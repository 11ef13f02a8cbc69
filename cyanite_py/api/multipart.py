"""Fields of a `multipart/form-data` body, as graphite-web's cluster client posts them
(urllib3 encodes a POST's fields so when `REMOTE_STORE_USE_POST` is on).

The standard library's MIME parser splits the parts; the body is already bounded by
`api.max_body_size`. Files are read as fields: only their text matters here.
"""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

from cyanite_py.api.errors import BadRequest


def form_fields(content_type: str, body: bytes) -> list[tuple[str, str]]:
    """`(name, value)` of each part of `body`, in order; a 400 when it is not multipart."""
    head = b"Content-Type: " + content_type.encode("latin-1", errors="replace") + b"\r\n\r\n"
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise BadRequest("a multipart/form-data body needs a boundary and its parts")
    fields: list[tuple[str, str]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            value = part.get_payload(decode=True)
            text = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else ""
            fields.append((name, text))
    return fields
