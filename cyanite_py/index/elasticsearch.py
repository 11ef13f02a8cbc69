"""The path index in Elasticsearch, shared by every server that points at the same index.

One document per path node, its id the path: `depth`, `leaf`/`branch` flags (a node may be
both) and `nodes`, the path's names tagged with their position (`"2:cpu"`). A glob becomes
term and prefix filters on those tags, narrowing by depth and by every literal name or
literal prefix the glob holds; the hits are then filtered with the same matchers as the
memory index (`cyanite_py.index.glob`), so both answer the same sets. Values go into
term-level queries as data, never into a query string, so no name needs escaping.

`add` only queues nodes not written before (a local set of known nodes); `run` writes them
in the background, `bulk_concurrency` bulk requests at once, as upserts that set a flag
and never clear one, so writes can be retried and repeated safely. Server versions:
Elasticsearch 9.x (the 9.x Python client refuses 8.x and 7.x servers, and OpenSearch).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

import trio
from elastic_transport import ApiError, HttpxAsyncHttpNode, TransportError
from elasticsearch import AsyncElasticsearch, BadRequestError

from cyanite_py.counters import Registry
from cyanite_py.index.base import IndexUnavailable, Node, PathLoader
from cyanite_py.index.elasticsearch_config import ElasticsearchIndexConfig
from cyanite_py.index.glob import NodePattern, compile_pattern, matches
from cyanite_py.index.lucene import node_regexp
from cyanite_py.ratelog import RateLimitedLog

log = logging.getLogger(__name__)

MAPPING: dict[str, Any] = {
    "settings": {
        "index": {"number_of_shards": 1, "auto_expand_replicas": "0-1", "refresh_interval": "1s"}
    },
    "mappings": {
        "dynamic": "strict",
        "properties": {
            "path": {"type": "keyword"},
            "depth": {"type": "integer"},
            "nodes": {"type": "keyword"},
            "leaf": {"type": "boolean"},
            "branch": {"type": "boolean"},
        },
    },
}
"""The index's settings and mapping, applied when the index is missing; also in
schema/elasticsearch-paths.json for creating it by hand."""

LEAF = 1
BRANCH = 2
_FLAG_FIELDS = {LEAF: "leaf", BRANCH: "branch"}
_MAX_PREFIXES = 64
"""Literal alternatives (`{a,b}`) expanded into filters, at most; past that, filtered locally."""
_MAX_REGEXP = 256
"""Characters of a glob node at most that go to Elasticsearch as a regular expression, so
its automaton stays far below Lucene's limit; a longer node is narrowed by its prefix."""
_MAX_ID = 512
_RETRIABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def node_id(path: str) -> str:
    """The node's document id: the path itself, or for a path longer than Elasticsearch
    takes as an id (512 bytes), `#` and a hash of it (the path is in the document)."""
    if len(path) <= _MAX_ID // 4 or len(path.encode()) <= _MAX_ID:
        return path
    return "#" + hashlib.blake2b(path.encode(), digest_size=32).hexdigest()


def node_document(path: str, flag: int) -> dict[str, Any]:
    """The upserted document for one node, setting only the flag it brings."""
    names = path.split(".")
    return {
        "path": path,
        "depth": len(names),
        "nodes": [f"{position}:{name}" for position, name in enumerate(names)],
        _FLAG_FIELDS[flag]: True,
    }


def glob_query(patterns: Sequence[NodePattern]) -> dict[str, Any]:
    """Filters that every path matching `patterns` passes: depth, and per node a literal name
    (or a few alternatives), or the node as a regular expression on its position's names,
    or at least the literal prefix before its first wildcard."""
    filters: list[dict[str, Any]] = [{"term": {"depth": len(patterns)}}]
    for position, pattern in enumerate(patterns):
        if pattern.literals is not None and len(pattern.literals) <= _MAX_PREFIXES:
            tags = sorted(f"{position}:{name}" for name in pattern.literals)
            filters.append({"terms": {"nodes": tags}})
            continue
        if pattern.regex is None and pattern.literals is None:
            continue  # `*`: the depth says it all
        regexp = node_regexp(pattern.text) if len(pattern.text) <= _MAX_REGEXP else None
        if regexp is not None:
            value = {"value": f"{position}:{regexp}", "flags": "NONE"}
            filters.append({"regexp": {"nodes": value}})
        elif pattern.literals is None and pattern.prefix:
            filters.append({"prefix": {"nodes": f"{position}:{pattern.prefix}"}})
    return {"bool": {"filter": filters}}


class ElasticsearchIndex:
    """Paths kept in an Elasticsearch index, written in the background, read by glob."""

    def __init__(
        self,
        config: ElasticsearchIndexConfig,
        registry: Registry,
        load_paths: PathLoader | None = None,
    ) -> None:
        self.config = config
        self._load_paths = load_paths
        self._client: AsyncElasticsearch | None = None
        self._known: dict[str, int] = {}
        self._pending: list[tuple[str, int]] = []
        self._queued = 0
        self._written = 0
        self._refreshed = 0
        self._wake = trio.Event()
        self._progress = trio.Event()
        self._index_ready = False
        self._log = RateLimitedLog(log)
        self._indexed = registry.counter(
            "index_paths_indexed", "path nodes written to Elasticsearch", index="elasticsearch"
        )
        self._bulk_errors = registry.counter(
            "index_bulk_errors", "nodes a bulk write failed for", index="elasticsearch"
        )
        self._retries = registry.counter(
            "index_write_retries", "index writes retried after a failure", index="elasticsearch"
        )
        self._query_errors = registry.counter(
            "index_query_errors", "index queries that failed", index="elasticsearch"
        )
        self._added = registry.counter("index_paths_added", "paths added to the index")
        registry.gauge(
            "index_queue_depth",
            "path nodes waiting to be written to the index",
            lambda: float(len(self._pending)),
            index="elasticsearch",
        )

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, create the index if missing (retried in the background while Elasticsearch
        is away), report readiness, then write queued nodes until cancelled."""
        self._client = self._connect()
        try:
            await self._try_ensure_index()
            task_status.started()
            if self._load_paths is not None:
                self.add(await self._load_paths())
            await self._write_forever()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                await self._client.close()

    def add(self, paths: Sequence[str]) -> None:
        """Queue the nodes of `paths` not queued before; never blocks."""
        known = self._known
        pending = self._pending
        before = len(pending)
        for path in paths:
            flags = known.get(path, 0)
            if flags & LEAF:
                continue
            known[path] = flags | LEAF
            pending.append((path, LEAF))
            end = path.rfind(".")
            while end > 0:
                parent = path[:end]
                flags = known.get(parent, 0)
                if flags & BRANCH:
                    break
                known[parent] = flags | BRANCH
                pending.append((parent, BRANCH))
                end = path.rfind(".", 0, end)
        queued = len(pending) - before
        if queued:
            self._queued += queued
            self._added.inc(sum(1 for _, flag in pending[before:] if flag == LEAF))
            if len(pending) >= self.config.bulk_size:
                self._wake.set()

    async def flush(self) -> None:
        """Wait until every node queued so far is written, then refresh so searches see it."""
        target = self._queued
        while self._written < target:
            self._wake.set()
            await self._progress.wait()
        if self._refreshed < target:
            await self._retrying("refresh", self._refresh)
            self._refreshed = max(self._refreshed, target)

    async def find(self, pattern: str) -> list[Node]:
        """Nodes matching `pattern`, sorted; IndexUnavailable while Elasticsearch is away."""
        patterns = compile_pattern(pattern)
        query = glob_query(patterns)
        try:
            hits = await self._search_all(query)
        except (TransportError, ApiError) as error:
            self._query_errors.inc()
            self._log.warning("query", "index query failed: %s", error)
            raise IndexUnavailable(f"elasticsearch: {error}") from error
        found = [
            Node(source["path"], bool(source.get("leaf")), bool(source.get("branch")))
            for source in hits
            if matches(patterns, source["path"])
        ]
        found.sort()
        return found

    def _connect(self) -> AsyncElasticsearch:
        auth = None
        if self.config.username is not None:
            auth = (self.config.username, self.config.password or "")
        return AsyncElasticsearch(
            self.config.url,
            node_class=HttpxAsyncHttpNode,
            basic_auth=auth,
            request_timeout=self.config.request_timeout,
            max_retries=0,
            retry_on_timeout=False,
        )

    @property
    def _es(self) -> AsyncElasticsearch:
        if self._client is None:
            raise IndexUnavailable("elasticsearch: the index is not running")
        return self._client

    async def _search_all(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Every hit's source, page by page in path order (search_after on the unique path)."""
        sources: list[dict[str, Any]] = []
        after: list[Any] | None = None
        while True:
            response = await self._es.search(
                index=self.config.index,
                query=query,
                sort=[{"path": "asc"}],
                size=self.config.page_size,
                search_after=after,
                source_includes=["path", "leaf", "branch"],
                track_total_hits=False,
                filter_path=["hits.hits._source", "hits.hits.sort"],
            )
            hits = response.body.get("hits", {}).get("hits", [])
            sources.extend(hit["_source"] for hit in hits)
            if len(hits) < self.config.page_size:
                return sources
            after = hits[-1]["sort"]

    async def _try_ensure_index(self) -> None:
        """Create the index at start when Elasticsearch answers; the writer retries otherwise."""
        try:
            await self._ensure_index()
        except (TransportError, ApiError) as error:
            self._log.warning("ensure", "elasticsearch index not ready yet: %s", error)

    async def _ensure_index(self) -> None:
        if self._index_ready:
            return
        if not await self._es.indices.exists(index=self.config.index):
            try:
                await self._es.indices.create(index=self.config.index, **MAPPING)
                log.info("created elasticsearch index %s", self.config.index)
            except BadRequestError as error:
                if error.error != "resource_already_exists_exception":
                    raise
        self._index_ready = True

    async def _refresh(self) -> None:
        await self._es.indices.refresh(index=self.config.index)

    async def _write_forever(self) -> None:
        """Write queued nodes in bulk: as soon as a bulk is full, else every flush_interval."""
        while True:
            if not self._pending:
                with trio.move_on_after(self.config.flush_interval):
                    await self._wake.wait()
                self._wake = trio.Event()
            if self._pending:
                await self._retrying("ensure", self._ensure_index)
                step = self.config.bulk_size
                size = min(len(self._pending), step * self.config.bulk_concurrency)
                async with trio.open_nursery() as bulks:
                    for first in range(0, size, step):
                        part = self._pending[first : min(first + step, size)]
                        bulks.start_soon(self._retrying, "bulk", partial(self._bulk, part))
                del self._pending[:size]
                self._written += size
            self._progress.set()
            self._progress = trio.Event()

    async def _retrying(self, what: str, attempt: Callable[[], Awaitable[None]]) -> None:
        """Run `attempt` until it succeeds, backing off between failures."""
        delay = self.config.retry_min
        while True:
            try:
                await attempt()
                return
            except (TransportError, ApiError, _Retry) as error:
                self._retries.inc()
                self._log.warning(
                    what, "index %s failed, retrying in %.1fs: %s", what, delay, error
                )
            await trio.sleep(delay)
            delay = min(delay * 2, self.config.retry_max)

    async def _bulk(self, batch: list[tuple[str, int]]) -> None:
        """Upsert `batch`; keep in it only the nodes that failed with a retriable status."""
        operations: list[dict[str, Any]] = []
        for path, flag in batch:
            operations.append({"update": {"_id": node_id(path)}})
            operations.append({"doc": node_document(path, flag), "doc_as_upsert": True})
        response = await self._es.bulk(
            index=self.config.index,
            operations=operations,
            filter_path=["errors", "items.*.status", "items.*.error"],
        )
        if not response.body.get("errors"):
            self._indexed.inc(len(batch))
            return
        self._collect_failures(batch, response.body["items"])

    def _collect_failures(self, batch: list[tuple[str, int]], items: list[dict[str, Any]]) -> None:
        """Count failed items; retry the retriable ones, drop (and log) the rest."""
        retry: list[tuple[str, int]] = []
        for node, item in zip(batch, items, strict=True):
            result = item["update"]
            status = result.get("status", 500)
            if status < 300:
                self._indexed.inc()
                continue
            self._bulk_errors.inc()
            if status in _RETRIABLE_STATUS:
                retry.append(node)
            else:
                self._log.warning(
                    "rejected", "index rejected path %r: %s", node[0], result.get("error")
                )
        batch[:] = retry
        if retry:
            raise _Retry(f"{len(retry)} nodes of a bulk write failed")


class _Retry(Exception):
    """Some nodes of a bulk write failed with a retriable status."""
