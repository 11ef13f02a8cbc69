"""The Elasticsearch index against a real node: the shared contract, its mapping, writes of
only new nodes, paging, and Elasticsearch going away and coming back (through a proxy that
can refuse connections, so the shared node keeps running)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from cyanite_py.counters import Registry
from cyanite_py.index.base import IndexUnavailable, Node
from cyanite_py.index.elasticsearch import MAPPING, ElasticsearchIndex, glob_query
from cyanite_py.index.elasticsearch_config import ElasticsearchIndexConfig
from cyanite_py.index.glob import compile_pattern
from tests.index_contract import TREE, IndexContract, expected, load

pytestmark = pytest.mark.elasticsearch

ROOT = Path(__file__).resolve().parent.parent


def index_config(url: str, name: str, **overrides: Any) -> ElasticsearchIndexConfig:
    """Quick writes and retries, for tests."""
    settings: dict[str, Any] = {
        "flush_interval": 0.05,
        "retry_min": 0.05,
        "retry_max": 0.5,
        "request_timeout": 10,
    } | overrides
    return ElasticsearchIndexConfig(url=url, index=name, **settings)


async def started(
    nursery: trio.Nursery, config: ElasticsearchIndexConfig, registry: Registry | None = None
) -> ElasticsearchIndex:
    index = ElasticsearchIndex(config, registry or Registry())
    await nursery.start(index.run)
    return index


@pytest.fixture
async def index(
    nursery: trio.Nursery, elasticsearch_url: str, elasticsearch_index: str
) -> ElasticsearchIndex:
    return await started(nursery, index_config(elasticsearch_url, elasticsearch_index))


class TestElasticsearchIndex(IndexContract):
    pass


class Proxy:
    """A loopback TCP proxy to Elasticsearch that can be made to refuse every connection."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.up = True
        self._connections = trio.CancelScope()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._handle, listeners)

    def down(self) -> None:
        """Cut open connections and refuse new ones."""
        self.up = False
        self._connections.cancel()
        self._connections = trio.CancelScope()

    async def _handle(self, client: trio.SocketStream) -> None:
        async with client:
            if not self.up:
                return
            with self._connections:
                upstream = await trio.open_tcp_stream("127.0.0.1", self.target_port)
                async with upstream, trio.open_nursery() as pipes:
                    pipes.start_soon(self._pipe, client, upstream)
                    pipes.start_soon(self._pipe, upstream, client)

    @staticmethod
    async def _pipe(source: trio.SocketStream, sink: trio.SocketStream) -> None:
        async for chunk in source:
            await sink.send_all(chunk)
        await sink.send_eof()


@pytest.fixture
async def proxy(nursery: trio.Nursery, elasticsearch_url: str) -> Proxy:
    proxy = Proxy(httpx.URL(elasticsearch_url).port or 9200)
    await nursery.start(proxy.run)
    return proxy


def test_the_schema_file_is_the_mapping_the_index_applies() -> None:
    schema = json.loads((ROOT / "schema" / "elasticsearch-paths.json").read_text())
    assert schema == MAPPING


def test_globs_become_filters_with_names_as_data() -> None:
    query = glob_query(compile_pattern('dc1.{a,b}.we*[0-9].*.q"(x)'))
    assert query == {
        "bool": {
            "filter": [
                {"term": {"depth": 5}},
                {"terms": {"nodes": ["0:dc1"]}},
                {"terms": {"nodes": ["1:a", "1:b"]}},
                {"regexp": {"nodes": {"value": "2:we.*[0-9]", "flags": "NONE"}}},
                {"terms": {"nodes": ['4:q"(x)']}},
            ]
        }
    }


async def test_the_mapping_is_applied_when_the_index_is_missing(
    index: ElasticsearchIndex, elasticsearch_url: str, elasticsearch_index: str
) -> None:
    async with httpx.AsyncClient(base_url=elasticsearch_url) as http:
        mapping = (await http.get(f"/{elasticsearch_index}/_mapping")).json()
    assert mapping[elasticsearch_index]["mappings"] == MAPPING["mappings"]


async def test_only_new_nodes_are_written(
    nursery: trio.Nursery, elasticsearch_url: str, elasticsearch_index: str
) -> None:
    registry = Registry()
    index = await started(nursery, index_config(elasticsearch_url, elasticsearch_index), registry)
    await load(index, ["a.b.c", "a.b.d"])
    assert registry.value("index_paths_indexed", index="elasticsearch") == 4
    await load(index, ["a.b.c", "a.b.d", "a.b"])
    assert registry.value("index_paths_indexed", index="elasticsearch") == 5
    assert registry.value("index_paths_added") == 3
    assert await index.find("a.b") == [Node("a.b", leaf=True, branch=True)]


async def test_a_second_server_sees_the_same_paths(
    nursery: trio.Nursery, elasticsearch_url: str, elasticsearch_index: str
) -> None:
    config = index_config(elasticsearch_url, elasticsearch_index)
    first = await started(nursery, config)
    await load(first, TREE)
    second = await started(nursery, config)
    await load(second, ["dc1.web01.cpu"])
    assert await first.find("dc1.web01.*") == expected([*TREE, "dc1.web01.cpu"], "dc1.web01.*")


async def test_results_page_past_a_search_page(
    nursery: trio.Nursery, elasticsearch_url: str, elasticsearch_index: str
) -> None:
    config = index_config(elasticsearch_url, elasticsearch_index, page_size=7, bulk_size=10)
    index = await started(nursery, config)
    paths = [f"p.n{i:03d}" for i in range(100)]
    await load(index, paths)
    assert await index.find("p.*") == expected(paths, "p.*")
    assert await index.find("p.n0[0-6]?") == expected(paths, "p.n0[0-6]?")


async def test_paths_loaded_at_start_are_written(
    nursery: trio.Nursery, elasticsearch_url: str, elasticsearch_index: str
) -> None:
    async def load_paths() -> list[str]:
        return ["from.store.one", "from.store.two"]

    index = ElasticsearchIndex(
        index_config(elasticsearch_url, elasticsearch_index), Registry(), load_paths
    )
    await nursery.start(index.run)
    await index.flush()
    assert [n.path for n in await index.find("from.store.*")] == [
        "from.store.one",
        "from.store.two",
    ]


async def test_elasticsearch_going_away_and_coming_back(
    nursery: trio.Nursery, proxy: Proxy, elasticsearch_index: str
) -> None:
    registry = Registry()
    config = index_config(f"http://127.0.0.1:{proxy.port}", elasticsearch_index, request_timeout=2)
    index = await started(nursery, config, registry)
    await load(index, ["before.outage"])

    proxy.down()
    with pytest.raises(IndexUnavailable):
        await index.find("before.*")
    assert registry.value("index_query_errors", index="elasticsearch") == 1
    index.add(["during.outage"])
    with trio.move_on_after(1):
        await index.flush()
    assert registry.value("index_write_retries", index="elasticsearch") >= 1

    proxy.up = True
    with trio.fail_after(30):
        await index.flush()
    assert [n.path for n in await index.find("*.outage")] == ["before.outage", "during.outage"]


async def test_a_server_started_while_elasticsearch_is_away_catches_up(
    nursery: trio.Nursery, proxy: Proxy, elasticsearch_index: str
) -> None:
    proxy.down()
    config = index_config(f"http://127.0.0.1:{proxy.port}", elasticsearch_index, request_timeout=2)
    index = await started(nursery, config)
    index.add(["late.path"])
    with pytest.raises(IndexUnavailable):
        await index.find("late.*")
    proxy.up = True
    with trio.fail_after(30):
        await index.flush()
    assert await index.find("late.*") == [Node("late.path", leaf=True, branch=False)]


async def test_find_before_run_is_unavailable(elasticsearch_url: str) -> None:
    index = ElasticsearchIndex(ElasticsearchIndexConfig(url=elasticsearch_url), Registry())
    with pytest.raises(IndexUnavailable):
        await index.find("*")


async def test_paths_longer_than_a_document_id_are_kept(
    nursery: trio.Nursery, elasticsearch_url: str, elasticsearch_index: str
) -> None:
    registry = Registry()
    config = index_config(elasticsearch_url, elasticsearch_index, bulk_size=3)
    index = await started(nursery, config, registry)
    long = "long." + "x" * 600 + ".leaf"
    other = "long." + "x" * 599 + "y.leaf"
    index.add([long, other, *(f"many.p{i}" for i in range(20))])
    await index.flush()
    assert [node.path for node in await index.find("long.*.leaf")] == [long, other]
    assert len(await index.find("many.*")) == 20
    assert registry.value("index_bulk_errors", index="elasticsearch") == 0
