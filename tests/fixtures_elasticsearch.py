"""Fixtures that reach a real Elasticsearch.

`ELASTICSEARCH_URL` names a running server to use as it is. Without it, the tests reach
the local node on 127.0.0.1, which the session starts with `scripts/services start
elasticsearch` before the first test if a selected test needs it and it is not running
(see tests.local_services), and stops when it ends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.local_services import LocalService, local, register


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


def _local_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('ELASTICSEARCH_PORT', '9200')}"


def _local_node_answers() -> bool:
    return answers(_local_url())


def pytest_configure(config: pytest.Config) -> None:
    """Let the session start the local node, unless `ELASTICSEARCH_URL` names a server."""
    if not os.environ.get("ELASTICSEARCH_URL"):
        register(config, LocalService("elasticsearch", "elasticsearch_url", _local_node_answers))


@pytest.fixture(scope="session")
def elasticsearch_url(elasticsearch_managed: bool, pytestconfig: pytest.Config) -> str:
    """The URL of a reachable Elasticsearch, the local node unless `ELASTICSEARCH_URL` names
    one."""
    if not elasticsearch_managed:
        return os.environ["ELASTICSEARCH_URL"].rstrip("/")
    local(pytestconfig, "elasticsearch").ready()
    return _local_url()


@pytest.fixture
def elasticsearch_index(elasticsearch_url: str) -> Iterator[str]:
    """The name of an index of the test's own (not created yet), deleted afterwards."""
    name = f"test_paths_{uuid.uuid4().hex[:16]}"
    yield name
    httpx.delete(f"{elasticsearch_url}/{name}", params={"ignore_unavailable": "true"}, timeout=60)
