"""The command as an operator meets it: every configuration or start-up error is one line
naming the key or the port with exit 2, pipes closed early end quietly, and the version
comes from the package."""

from __future__ import annotations

import importlib.metadata
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cyanite_py.cli import main

COMMAND = [sys.executable, "-m", "cyanite_py.cli"]


def run(*arguments: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *arguments], capture_output=True, text=True, timeout=timeout, stdin=None
    )


def quiet_config(tmp_path: Path, **sections: str) -> Path:
    """A configuration on free loopback ports with a memory store; `sections` replace."""
    text = {
        "input": "[{type: carbon, host: 127.0.0.1, port: 0}]",
        "api": "{host: 127.0.0.1, port: 0}",
        "store": "{type: memory}",
        "reporter": "{enabled: false}",
    } | sections
    path = tmp_path / "cyanite.yaml"
    path.write_text("".join(f"{key}: {value}\n" for key, value in text.items()))
    return path


def error_lines(stderr: str) -> list[str]:
    """What the command said about the failure: its lines other than INFO logging."""
    return [line for line in stderr.splitlines() if " INFO " not in line]


@pytest.fixture
def busy_tcp_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.mark.parametrize("command", ["serve --config", "check-config"])
def test_a_bad_rule_regex_is_one_line_naming_the_rule(tmp_path: Path, command: str) -> None:
    config = quiet_config(tmp_path, engine="{rules: {'[unclosed': ['10s:1d']}}")
    result = run(*command.split(), str(config))
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        f"{config}: engine.rules.[unclosed: not a regular expression:"
        " unterminated character set at position 0"
    ]


def test_a_port_in_use_is_one_line_naming_the_input_and_port(
    tmp_path: Path, busy_tcp_port: int
) -> None:
    config = quiet_config(
        tmp_path, input=f"[{{type: pickle, host: 127.0.0.1, port: {busy_tcp_port}}}]"
    )
    result = run("serve", "--config", str(config))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = error_lines(result.stderr)
    assert line.endswith(
        f"cannot start: input.0 (pickle) cannot listen on 127.0.0.1:{busy_tcp_port}:"
        " Address already in use"
    )


def test_the_http_port_in_use_is_named_too(tmp_path: Path, busy_tcp_port: int) -> None:
    config = quiet_config(tmp_path, api=f"{{host: 127.0.0.1, port: {busy_tcp_port}}}")
    result = run("serve", "--config", str(config))
    assert result.returncode == 2
    [line] = error_lines(result.stderr)
    assert f"cannot start: api cannot listen on 127.0.0.1:{busy_tcp_port}" in line


def test_two_inputs_on_one_port_are_refused_before_anything_binds(tmp_path: Path) -> None:
    config = quiet_config(
        tmp_path,
        input="[{type: carbon, port: 2103, udp: true}, {type: pickle, port: 2103},"
        " {type: sflow, port: 2103}, {type: sflow, port: 0}, {type: pickle, port: 0}]",
    )
    result = run("check-config", str(config))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"{config}: input.1.port: TCP port 2103 is already used by input.0",
        f"{config}: input.2.port: UDP port 2103 is already used by input.0",
    ]


def test_an_input_on_the_http_port_is_refused(tmp_path: Path) -> None:
    config = quiet_config(tmp_path, input="[{type: carbon, port: 8080}]", api="{port: 8080}")
    assert main(["check-config", str(config)]) == 2


def test_one_port_on_two_addresses_is_allowed(tmp_path: Path) -> None:
    config = quiet_config(
        tmp_path,
        input="[{type: carbon, host: 127.0.0.1, port: 2103},"
        " {type: pickle, host: 127.0.0.2, port: 2103}]",
    )
    assert main(["check-config", str(config)]) == 0


def test_a_store_that_cannot_open_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    database = tmp_path / "a-file" / "cyanite.db"
    config = quiet_config(tmp_path, store=f"{{type: sqlite, path: '{database}'}}")
    result = run("serve", "--config", str(config))
    assert result.returncode == 2
    [line] = error_lines(result.stderr)
    assert "cannot start" in line
    assert str(database) in line


def test_a_back_end_whose_extra_is_missing_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "cassandra", None)  # as if the extra were not installed
    config = quiet_config(tmp_path, store="{type: cassandra}")
    assert main(["serve", "--config", str(config)]) == 2
    assert capsys.readouterr().err == (
        f"{config}: store.type: cassandra needs its client library:"
        " pip install 'cyanite-py[cassandra]'\n"
    )


@pytest.mark.parametrize(
    "arguments", [["schema", "cassandra"], ["--help"], ["rules-from", "--help"]]
)
def test_output_into_a_closed_pipe_ends_quietly(arguments: list[str]) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written, as `| head -0`
    try:
        result = subprocess.run(
            [*COMMAND, *arguments], stdout=write_end, stderr=subprocess.PIPE, timeout=60
        )
    finally:
        os.close(write_end)
    assert result.stderr == b""
    assert result.returncode == 0


def test_the_version_is_the_installed_package_version() -> None:
    version = importlib.metadata.version("cyanite-py")
    assert run("--version").stdout == f"cyanite-py {version}\n"


def test_the_start_up_line_names_the_version(tmp_path: Path, busy_tcp_port: int) -> None:
    config = quiet_config(tmp_path, api=f"{{host: 127.0.0.1, port: {busy_tcp_port}}}")
    result = run("serve", "--config", str(config))
    version = importlib.metadata.version("cyanite-py")
    assert f"cyanite-py {version} starting (configuration: {config})" in result.stderr
