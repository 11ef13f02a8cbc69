"""`logging.level: debug` says what happens to each connection and each store write."""

from __future__ import annotations

import logging

import pytest
import trio

from tests.helpers import now, running_server, server_config, wait_until


async def test_debug_logs_connections_and_writes(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="cyanite_py")
    config = server_config(input=[{"type": "carbon", "port": 0}], engine={"flush_interval": 1})
    async with running_server(config) as s:
        old = now() - 600  # windows the clock closes at the next flush
        await s.send_lines(f"debug.a 1 {old}\ndebug.b 2 {old}\n")
        await s.until("engine_points", 2)
        with trio.fail_after(10):
            await wait_until(
                lambda: any("closed 4 windows" in r.getMessage() for r in caplog.records)
            )
    messages = [record.getMessage() for record in caplog.records]
    assert any("connection from 127.0.0.1:" in text for text in messages)
    assert any(text.startswith("carbon_tcp_") and " closed (0 open)" in text for text in messages)
    assert any("snapshots and 2 new paths" in text for text in messages)
