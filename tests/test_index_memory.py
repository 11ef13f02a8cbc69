"""The memory index against the shared index contract."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from cyanite_py.counters import Registry
from cyanite_py.index.memory import MemoryIndex, MemoryIndexConfig
from tests.index_contract import IndexContract


@pytest.fixture
async def index(nursery: trio.Nursery) -> AsyncIterator[MemoryIndex]:
    index = MemoryIndex(MemoryIndexConfig(), Registry())
    await nursery.start(index.run)
    yield index


class TestMemoryIndex(IndexContract):
    pass
