"""Fixtures that reach a real Elasticsearch.

`ELASTICSEARCH_URL` names a running server to use as it is. Without it,
`scripts/services start elasticsearch` installs and starts a local node (a no-op when one
is running already); a node the session started is stopped when it ends.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / "scripts" / "services"
START_TIMEOUT = 1200
"""Seconds for a first start, which fetches the server's jars."""


def services(action: str) -> None:
    """Run `scripts/services ACTION elasticsearch`, failing the test with its output on error."""
    done = subprocess.run(
        [str(SERVICES), action, "elasticsearch"],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"scripts/services {action} elasticsearch failed:\n{done.stderr}{done.stdout}")


def answers(url: str) -> bool:
    """Whether an Elasticsearch answers at `url`."""
    try:
        return httpx.get(f"{url}/_cluster/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def elasticsearch_managed() -> bool:
    """Whether the node is the local one that `scripts/services` controls."""
    return not os.environ.get("ELASTICSEARCH_URL")


@pytest.fixture(scope="session")
def elasticsearch_url(elasticsearch_managed: bool) -> Iterator[str]:
    """The URL of a reachable Elasticsearch, starting the local node if needed."""
    if not elasticsearch_managed:
        yield os.environ["ELASTICSEARCH_URL"].rstrip("/")
        return
    url = f"http://127.0.0.1:{os.environ.get('ELASTICSEARCH_PORT', '9200')}"
    started = not answers(url)
    if started:
        services("start")
    yield url
    if started:
        services("stop")


@pytest.fixture
def elasticsearch_index(elasticsearch_url: str) -> Iterator[str]:
    """The name of an index of the test's own (not created yet), deleted afterwards."""
    name = f"test_paths_{uuid.uuid4().hex[:16]}"
    yield name
    httpx.delete(f"{elasticsearch_url}/{name}", params={"ignore_unavailable": "true"}, timeout=60)
