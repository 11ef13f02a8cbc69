"""The server as a process: a clean stop writes everything, a crash loses at most one
checkpoint interval, a stop that cannot write says how much and exits non-zero, and a
second server on the same SQLite file refuses to start."""

from __future__ import annotations

import resource
import signal
from pathlib import Path

from tests.helpers import now
from tests.server_process import ServerProcess, series_total, wait_until, write_config

PATHS = 1000


def lines_for(prefix: str, t: int, count: int = PATHS) -> str:
    return "".join(f"{prefix}.{i} {i} {t}\n" for i in range(count))


def test_sigterm_writes_every_open_window_and_exits_zero(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "cyanite.yaml", tmp_path / "cyanite.db", engine="{rules: {default: ['1h:7d']}}"
    )
    server = ServerProcess(config).wait_until_serving()
    t = now()
    server.send_lines(lines_for("flushed", t))
    wait_until(lambda: server.counter("engine_points") == PATHS)
    assert server.stop() == 0
    assert "stopped\n" in server.log

    again = ServerProcess(config).wait_until_serving()
    try:
        window = {"path": "flushed.*", "from": str(t - 3600), "to": str(t + 1)}
        assert series_total(again.get("/metrics", agg="count", **window)) == PATHS
        assert series_total(again.get("/metrics", agg="sum", **window)) == sum(range(PATHS))
    finally:
        again.stop()


def test_sigkill_loses_no_point_older_than_the_checkpoint_interval(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "cyanite.yaml",
        tmp_path / "cyanite.db",
        engine="{rules: {default: ['10s:1d', '5m:30d']}, checkpoint_interval: 1}",
    )
    server = ServerProcess(config).wait_until_serving()
    t = now()
    server.send_lines(lines_for("crash", t))
    # Both resolutions' open windows reach the store within a checkpoint or two.
    wait_until(lambda: server.counter("snapshots_written") >= 2 * PATHS)
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL

    again = ServerProcess(config).wait_until_serving()
    try:
        for start in (t - 600, t - 2 * 86400):  # read at 10 s, then at 5 min
            answer = again.get(
                "/metrics", path="crash.*", agg="count", to=str(t + 1), **{"from": str(start)}
            )
            assert series_total(answer) == PATHS, start
    finally:
        again.stop()


def test_a_second_server_on_the_same_file_refuses_to_start(tmp_path: Path) -> None:
    database = tmp_path / "cyanite.db"
    first = ServerProcess(write_config(tmp_path / "one.yaml", database)).wait_until_serving()
    try:
        second = ServerProcess(write_config(tmp_path / "two.yaml", database))
        assert second.process.wait(timeout=30) == 2
        second.stop()
        refusals = [line for line in second.lines if "cannot start" in line]
        assert len(refusals) == 1, second.log
        assert str(database) in refusals[0]
        assert f"process {first.process.pid}" in refusals[0]
        assert first.get("/ping").json() == {"response": "pong"}
    finally:
        assert first.stop() == 0


def limit_file_size() -> None:
    """Let the child write no file past 256 KiB, as a full disk would stop it."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))


def test_a_stop_that_cannot_write_says_how_much_and_exits_non_zero(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "cyanite.yaml",
        tmp_path / "cyanite.db",
        engine="{rules: {default: ['10s:1d', '5m:30d']}, checkpoint_interval: 0}",
        writer="{shutdown_timeout: 6, retry_max: 1}",
    )
    server = ServerProcess(config, preexec_fn=limit_file_size).wait_until_serving()
    paths = 20_000
    server.send_lines(lines_for("full", now(), paths))
    wait_until(lambda: server.counter("engine_points") == paths)
    wait_until(lambda: server.counter("store_write_errors") > 0)
    assert server.stop() == 3
    assert "still to write" in server.log
    assert f"stopped with {2 * paths} snapshots not written" in server.log, server.log
