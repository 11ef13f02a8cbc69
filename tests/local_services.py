"""The local servers that the selected tests need, started together before the first test.

`scripts/services start NAME` installs a server on first use and starts it on loopback.
A test session starts only the servers its selected tests reach (through a fixture such
as `cassandra_hosts`), all at once so that their start-ups overlap, and before the first
test so that no test runs beside a server starting up. At the end it stops what it started,
unless `KEEP_SERVICES=1` keeps them for the next run. A server that answers already is
used as it is, and one named by an environment variable (`CASSANDRA_HOSTS`,
`ELASTICSEARCH_URL`) is never registered here, so never started.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / "scripts" / "services"
START_TIMEOUT = 1200
"""Seconds for a first start, which downloads a server's jars."""

_REGISTERED = pytest.StashKey[dict[str, "LocalService"]]()


class LocalService:
    """A server of `scripts/services`, started at most once a session, in the background."""

    def __init__(self, name: str, fixture: str, answers: Callable[[], bool]) -> None:
        self.name = name
        self.fixture = fixture
        """The fixture through which tests reach the server."""
        self.answers = answers
        self.started = False
        """Whether this session started the server, and so stops it."""
        self._starting: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None
        self._failure: str | None = None

    def begin(self) -> None:
        """Start the server without waiting for it, unless it answers already."""
        if self.started or self.answers():
            return
        self.started = True
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 - `wait` closes it
        self._starting = subprocess.Popen(
            [str(SERVICES), "start", self.name],
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )

    @property
    def starting(self) -> bool:
        return self._starting is not None

    def wait(self) -> str | None:
        """Wait for a start begun earlier; why it failed, if it did."""
        if self._starting is None or self._output is None:
            return self._failure
        try:
            outcome = f"exit status {self._starting.wait(START_TIMEOUT)}"
        except subprocess.TimeoutExpired:
            self._starting.kill()
            self._starting.wait()
            outcome = f"not ready within {START_TIMEOUT} s"
        if self._starting.returncode != 0:
            self._output.seek(0)
            said = self._output.read().decode(errors="replace")
            self._failure = f"scripts/services start {self.name}: {outcome}\n{said}"
        self._output.close()
        self._starting = self._output = None
        return self._failure

    def ready(self) -> None:
        """Return once the server answers, starting it if need be; fail the test if it
        could not start."""
        self.begin()
        failure = self.wait()
        if failure:
            pytest.fail(failure, pytrace=False)

    def stop(self) -> None:
        """Stop the server if this session started it."""
        if self.started:
            subprocess.run(
                [str(SERVICES), "stop", self.name], capture_output=True, timeout=120, check=False
            )
            self.started = False


def register(config: pytest.Config, service: LocalService) -> None:
    """Let the session start `service` when a selected test uses its fixture."""
    config.stash.setdefault(_REGISTERED, {})[service.name] = service


def local(config: pytest.Config, name: str) -> LocalService:
    """The registered server called `name`."""
    return config.stash[_REGISTERED][name]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start, together, the registered servers whose fixture a selected test uses, and
    wait for them: a failed start fails only the tests that use that server."""
    registered = session.config.stash.get(_REGISTERED, {})
    option = session.config.option
    if option.collectonly or option.setupplan or not registered:
        return
    used = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    needed = [service for service in registered.values() if service.fixture in used]
    for service in needed:
        service.begin()
    starting = sorted(service.name for service in needed if service.starting)
    if starting:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"starting {' and '.join(starting)} (scripts/services start)")
    for service in needed:
        service.wait()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop what the session started, unless `KEEP_SERVICES=1`."""
    if os.environ.get("KEEP_SERVICES") == "1":
        return
    for service in session.config.stash.get(_REGISTERED, {}).values():
        service.stop()
