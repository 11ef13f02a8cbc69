"""Requests the HTTP parser refuses still get a JSON message saying why."""

from __future__ import annotations

import json

import trio

from tests.helpers import running_server, server_config


async def raw_exchange(port: int, request: bytes) -> tuple[bytes, bytes]:
    """Send `request` as is and read the whole answer; its head and its body."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(request)
        answer = b""
        with trio.fail_after(10):
            while chunk := await stream.receive_some():
                answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


async def test_a_raw_utf8_url_answers_400_with_a_json_message() -> None:
    async with running_server(server_config()) as s:
        request = "GET /render?target=a.größe HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        head, body = await raw_exchange(s.bound.api, request)
        assert head.startswith(b"HTTP/1.1 400 ")
        assert b"content-type: application/json" in head.lower()
        assert "percent-encoded" in json.loads(body)["message"]
        # The server goes on answering well-formed requests.
        assert (await s.http.get("/ping")).status_code == 200


async def test_a_malformed_header_answers_400_with_a_json_message() -> None:
    async with running_server(server_config()) as s:
        head, body = await raw_exchange(
            s.bound.api, b"GET /ping HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"
        )
        assert head.startswith(b"HTTP/1.1 400 ")
        assert json.loads(body)["message"]
