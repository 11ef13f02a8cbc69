"""`logging.level: debug` says what happens to each connection and each store write."""

from __future__ import annotations

import logging

import pytest

from tests.helpers import now, running_server, server_config


async def test_debug_logs_connections_and_writes(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="cyanite_py")
    async with running_server(server_config(input=[{"type": "carbon", "port": 0}])) as s:
        await s.send_lines(f"debug.a 1 {now()}\ndebug.b 2 {now()}\n")
        await s.until("engine_points", 2)
    messages = [record.getMessage() for record in caplog.records]
    assert any("connection from 127.0.0.1:" in text for text in messages)
    assert any(text.startswith("carbon_tcp_") and " closed (0 open)" in text for text in messages)
    assert any("snapshots and 2 new paths" in text for text in messages)
