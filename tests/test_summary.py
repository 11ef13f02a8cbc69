"""The periodic summary line: what moved since the previous line, from the real counters."""

from __future__ import annotations

import logging

import pytest
import trio

from cyanite_py.counters import Registry
from cyanite_py.summary import Summary
from tests.helpers import now, running_server, server_config, wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_line_says_rates_since_the_previous_line() -> None:
    registry = Registry()
    clock = Clock()
    summary = Summary(10, registry, clock)
    received = registry.counter("input_points_received", "", input="carbon_tcp_2003")
    written = registry.counter("snapshots_written", "")
    registry.gauge("engine_series", "", lambda: 1234.0)
    registry.gauge("store_buffer_snapshots", "", lambda: 56.0)
    registry.counter("input_points_dropped", "", input="carbon_udp_2003").inc(7)
    registry.counter("input_rejected", "", input="x", reason="bad_value").inc(2)
    received.inc(20_000)
    written.inc(500)
    clock.now += 10
    assert summary.line() == (
        "2,000 points/s in, 50 snapshots/s written, 1,234 series, 56 snapshots buffered;"
        " dropped: 7 points, 0 datagrams, 2 rejected"
    )
    received.inc(100)
    clock.now += 20
    assert summary.line().startswith("5 points/s in, 0 snapshots/s written,")
    assert summary.line().endswith("dropped: 0 points, 0 datagrams, 0 rejected")


async def test_a_server_logs_the_line_every_interval(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="cyanite_py.summary")
    config = server_config(logging={"interval": 1}, reporter={"enabled": False})
    async with running_server(config) as server:
        await server.send_lines(f"a.b 1 {now()}\na.c 2 {now()}\n")
        await server.until("input_points_received", 2)
        with trio.fail_after(30):
            await wait_until(lambda: any("2 series" in r.getMessage() for r in caplog.records))
    lines = [r.getMessage() for r in caplog.records if r.name == "cyanite_py.summary"]
    assert all("points/s in" in line for line in lines)


async def test_interval_zero_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="cyanite_py.summary")
    config = server_config(logging={"interval": 0}, reporter={"enabled": False})
    async with running_server(config) as server:
        await server.send_lines(f"a.b 1 {now()}\n")
        await server.until("input_points_received", 1)
        await trio.sleep(1.5)
    assert not [r for r in caplog.records if r.name == "cyanite_py.summary"]
