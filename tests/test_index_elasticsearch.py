"""The Elasticsearch index against a real node: the shared contract, its mapping, writes of
only new nodes, concurrent bulks, paging, an index written in the older layout, and
Elasticsearch going away and coming back (through a proxy that can refuse connections, so
the shared node keeps running)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from cyanite_py.counters import Registry
from cyanite_py.index.base import IndexUnavailable, Node
from cyanite_py.index.elasticsearch import ElasticsearchIndex
from cyanite_py.index.elasticsearch_config import ElasticsearchIndexConfig
from cyanite_py.index.elasticsearch_documents import MAPPING
from cyanite_py.index.elasticsearch_query import GlobQuery, glob_query
from cyanite_py.index.glob import compile_pattern
from tests.index_contract import TREE, IndexContract, expected, load

pytestmark = pytest.mark.elasticsearch

ROOT = Path(__file__).resolve().parent.parent


def index_config(url: str, name: str, **overrides: Any) -> ElasticsearchIndexConfig:
    """Quick writes and retries, for tests; room for the contract's 250,000-node glob."""
    settings: dict[str, Any] = {
        "max_matches": 300_000,
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
    filters = [
        {"term": {"depth": 5}},
        {"terms": {"nodes": ["0:dc1"]}},
        {"terms": {"nodes": ["1:a", "1:b"]}},
        {"regexp": {"nodes": {"value": "2:we.*[0-9]", "flags": "NONE"}}},
        {"terms": {"nodes": ['4:q"(x)']}},
    ]
    assert query == GlobQuery({"bool": {"filter": filters}}, exact=True)


def test_a_literal_path_is_one_term_and_odd_classes_are_checked_after() -> None:
    literal = [{"term": {"path": "a.b.c"}}, {"term": {"depth": 3}}]
    assert glob_query(compile_pattern("a.b.c")) == GlobQuery({"bool": {"filter": literal}}, True)
    assert not glob_query(compile_pattern("a.[%]")).exact
    assert not glob_query(compile_pattern("a." + "x" * 300 + "*")).exact


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
    wide = "long." + "\u65e5" * 200  # 600 bytes in 200 characters
    index.add([long, other, wide, wide + ".leaf", *(f"many.p{i}" for i in range(20))])
    await index.flush()
    assert [node.path for node in await index.find("long.*.leaf")] == [long, other, wide + ".leaf"]
    assert await index.find(wide) == [Node(wide, leaf=True, branch=True)]
    assert await index.find("long.\u65e5*") == [Node(wide, leaf=True, branch=True)]
    assert len(await index.find("many.*")) == 20
    assert registry.value("index_bulk_errors", index="elasticsearch") == 0
    async with httpx.AsyncClient(base_url=elasticsearch_url) as http:
        found = await http.post(
            f"/{elasticsearch_index}/_search",
            json={"query": {"term": {"path": long}}, "_source": ["path"]},
        )
    hits = found.json()["hits"]["hits"]
    assert [hit["_source"]["path"] for hit in hits] == [long]
    assert len(hits[0]["_id"].encode()) <= 512


async def test_bulks_in_flight_at_once_write_every_node(
    nursery: trio.Nursery, elasticsearch_url: str, elasticsearch_index: str
) -> None:
    registry = Registry()
    config = index_config(elasticsearch_url, elasticsearch_index, bulk_size=7, bulk_concurrency=3)
    index = await started(nursery, config, registry)
    paths = [f"c.h{h}.m{m}" for h in range(20) for m in range(30)]
    for first in range(0, len(paths), 45):
        index.add(paths[first : first + 45])
    await index.flush()
    assert registry.value("index_paths_indexed", index="elasticsearch") == 1 + 20 + 600
    assert registry.value("index_queue_depth", index="elasticsearch") == 0
    assert await index.find("c.*.*") == expected(paths, "c.*.*")


async def test_a_node_known_in_two_roles_by_two_servers_has_both(
    nursery: trio.Nursery, elasticsearch_url: str, elasticsearch_index: str
) -> None:
    config = index_config(elasticsearch_url, elasticsearch_index)
    first = await started(nursery, config)
    second = await started(nursery, config)
    await load(first, ["r.s"])
    await load(second, ["r.s.t"])
    await load(first, ["r.s"])
    assert await second.find("r.*") == [Node("r.s", leaf=True, branch=True)]
    assert await first.find("r.s.*") == [Node("r.s.t", leaf=True, branch=False)]


async def test_an_index_written_one_document_per_node_is_read_as_it_stands(
    nursery: trio.Nursery, elasticsearch_url: str, elasticsearch_index: str
) -> None:
    """The layout before documents per role: ids that are paths, flags set by upserts."""
    older = {
        "o": {"branch": True},
        "o.p": {"leaf": True, "branch": True},
        "o.p.q": {"leaf": True},
        "o.r": {"leaf": True},
    }
    lines = []
    for path, flags in older.items():
        names = path.split(".")
        nodes = [f"{position}:{name}" for position, name in enumerate(names)]
        lines.append(json.dumps({"index": {"_id": path}}))
        lines.append(json.dumps({"path": path, "depth": len(names), "nodes": nodes} | flags))
    async with httpx.AsyncClient(base_url=elasticsearch_url, timeout=30) as http:
        created = await http.put(f"/{elasticsearch_index}", json=MAPPING)
        assert created.status_code == 200, created.text
        written = await http.post(
            f"/{elasticsearch_index}/_bulk",
            params={"refresh": "true"},
            content="\n".join(lines) + "\n",
            headers={"content-type": "application/x-ndjson"},
        )
        assert not written.json()["errors"], written.text
    index = await started(nursery, index_config(elasticsearch_url, elasticsearch_index))
    await load(index, ["o.r.s", "o.p"])
    assert await index.find("o.*") == [
        Node("o.p", leaf=True, branch=True),
        Node("o.r", leaf=True, branch=True),
    ]
    assert await index.find("o.p.q") == [Node("o.p.q", leaf=True, branch=False)]
    assert await index.find("o.*.*") == expected(["o.p", "o.p.q", "o.r", "o.r.s"], "o.*.*")


async def test_globs_with_empty_alternatives_and_odd_classes(index: ElasticsearchIndex) -> None:
    paths = ["g.xa1", "g.x1", "g.x%", "g.]", "g.a", "g.b"]
    await load(index, paths)
    for pattern in ["g.x{a,}*", "g.x{,a}1", "g.x[%]", "g.[]a]", "g.[!]a]", "g.{[a,b]}"]:
        assert await index.find(pattern) == expected(paths, pattern), pattern


async def test_a_restarted_server_writes_its_paths_again_without_errors(
    nursery: trio.Nursery, elasticsearch_url: str, elasticsearch_index: str
) -> None:
    config = index_config(elasticsearch_url, elasticsearch_index)
    first = Registry()
    await load(await started(nursery, config, first), TREE)
    registry = Registry()
    again = await started(nursery, config, registry)
    await load(again, TREE)
    written = first.value("index_paths_indexed", index="elasticsearch")
    assert registry.value("index_paths_indexed", index="elasticsearch") == written
    assert registry.value("index_bulk_errors", index="elasticsearch") == 0
    assert await again.find("*.*.*.*") == expected(TREE, "*.*.*.*")


async def test_a_path_that_is_not_utf8_is_refused_and_counted(
    nursery: trio.Nursery, elasticsearch_url: str, elasticsearch_index: str
) -> None:
    registry = Registry()
    index = await started(nursery, index_config(elasticsearch_url, elasticsearch_index), registry)
    await load(index, ["u.good", "u.bad\ud800", "u.fine"])
    assert [node.path for node in await index.find("u.*")] == ["u.fine", "u.good"]
    assert registry.value("index_bulk_errors", index="elasticsearch") == 1
