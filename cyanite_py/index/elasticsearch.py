"""The path index in Elasticsearch, shared by every server that points at the same index.

Documents and their ids are described in `elasticsearch_documents`, globs as queries in
`elasticsearch_query`, tag queries in `elasticsearch_tags`. A search reads only sort values
or aggregations, never a stored document, and asks Elasticsearch to cache its answer until
the index changes (`request_cache`), so a dashboard's repeated globs cost little.

`add` only queues nodes not written before (a local set of known nodes); `run` writes them
in the background, `bulk_concurrency` bulk requests at once, each body encoded in a worker
thread so the event loop keeps serving. Every write creates a document that never changes,
so writes can be retried and repeated safely, and a restarted server writing its paths
again costs Elasticsearch only id look-ups. Server versions: Elasticsearch 9.x (the 9.x
Python client refuses 8.x and 7.x servers, and OpenSearch).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

import trio
from elastic_transport import ApiError, HttpxAsyncHttpNode, TransportError
from elasticsearch import AsyncElasticsearch, BadRequestError, OrjsonSerializer

from cyanite_py.counters import Registry
from cyanite_py.index.base import IndexUnavailable, Node, PathLoader, TagValue
from cyanite_py.index.elasticsearch_config import ElasticsearchIndexConfig
from cyanite_py.index.elasticsearch_documents import (
    BRANCH,
    LEAF,
    MAPPING,
    TAGGED,
    Role,
    bulk_body,
    is_tagged_path,
)
from cyanite_py.index.elasticsearch_query import SORT, glob_query, nodes_from_rows
from cyanite_py.index.elasticsearch_tags import NAMES, ElasticsearchTags
from cyanite_py.index.glob import TooManyMatches, compile_pattern
from cyanite_py.ratelog import RateLimitedLog
from cyanite_py.tags import TagFilter, TagQuery

log = logging.getLogger(__name__)

_RETRIABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_EXISTS = 409
"""A `create` of a document already written, by this server or another: nothing to do."""
_OFFLOAD_ROWS = 2000
"""Hits past which turning them into nodes moves to a worker thread, off the event loop."""


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
        self._pending: list[Role] = []
        self._queued = 0
        self._taken = 0
        self._in_flight: set[int] = set()
        self._refreshed = 0
        self._wake = trio.Event()
        self._progress = trio.Event()
        self._index_ready = False
        self._tags = ElasticsearchTags(self._search, config.page_size)
        self._log = RateLimitedLog(log)
        self._refused = registry.counter(
            "index_finds_refused", "globs refused for matching more than index.max_matches"
        )
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
            lambda: float(self._queued - self._written()),
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
        """Queue the nodes of `paths` not queued before (a tagged path is one document,
        outside the tree); never blocks."""
        known = self._known
        pending = self._pending
        before = len(pending)
        for path in paths:
            flags = known.get(path, 0)
            if flags & LEAF:
                continue
            known[path] = flags | LEAF
            if is_tagged_path(path):
                pending.append((path, TAGGED))
                continue
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
            self._added.inc(sum(1 for _, role in pending[before:] if role != BRANCH))
            if len(pending) >= self.config.bulk_size:
                self._wake.set()

    async def flush(self) -> None:
        """Wait until every node queued so far is written, then refresh so searches see it."""
        target = self._queued
        while self._written() < target:
            self._wake.set()
            await self._progress.wait()
        if self._refreshed < target:
            await self._retrying("refresh", self._refresh)
            self._refreshed = max(self._refreshed, target)

    async def find(self, pattern: str) -> list[Node]:
        """Nodes matching `pattern`, sorted, or the tagged path spelled so; IndexUnavailable
        while Elasticsearch is away."""
        if ";" in pattern and await self._holds_tagged(pattern):
            return [Node(pattern, leaf=True, branch=False)]
        patterns = compile_pattern(pattern)
        glob = glob_query(patterns)
        rows = await self._search_all(glob.query, pattern)
        check = None if glob.exact else patterns
        if len(rows) <= _OFFLOAD_ROWS:
            return nodes_from_rows(rows, check)
        return await trio.to_thread.run_sync(nodes_from_rows, rows, check)

    async def find_series(self, query: TagQuery, limit: int) -> list[str]:
        return await self._tags.find_series(query, limit)

    async def list_tags(self, tag_filter: TagFilter | None, limit: int) -> list[str]:
        return await self._tags.list_tags(tag_filter, limit)

    async def list_values(
        self, tag: str, value_filter: TagFilter | None, limit: int
    ) -> list[TagValue]:
        return await self._tags.list_values(tag, value_filter, limit)

    async def autocomplete_tags(self, query: TagQuery | None, prefix: str, limit: int) -> list[str]:
        return await self._tags.autocomplete_tags(query, prefix, limit)

    async def autocomplete_values(
        self, query: TagQuery | None, tag: str, prefix: str, limit: int
    ) -> list[str]:
        return await self._tags.autocomplete_values(query, tag, prefix, limit)

    def _connect(self) -> AsyncElasticsearch:
        auth = None
        if self.config.username is not None:
            auth = (self.config.username, self.config.password or "")
        return AsyncElasticsearch(
            self.config.url,
            node_class=HttpxAsyncHttpNode,
            serializers={"application/json": OrjsonSerializer()},
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

    def _written(self) -> int:
        """How many of the nodes queued so far are written, counting in queue order."""
        return min(self._in_flight, default=self._taken)

    async def _search(self, body: dict[str, Any], filter_path: str) -> dict[str, Any]:
        """The answer to one search, cached by Elasticsearch until the index changes."""
        try:
            response = await self._es.perform_request(
                "POST",
                f"/{self.config.index}/_search",
                params={"filter_path": filter_path, "request_cache": "true"},
                headers={"content-type": "application/json", "accept": "application/json"},
                body=body,
            )
        except (TransportError, ApiError) as error:
            self._query_errors.inc()
            self._log.warning("query", "index query failed: %s", error)
            raise IndexUnavailable(f"elasticsearch: {error}") from error
        answer: dict[str, Any] = response.body
        return answer

    async def _search_all(self, query: dict[str, Any], pattern: str) -> list[list[Any]]:
        """Every hit's sort values, page by page in path order (`search_after`); more than
        `max_matches` of them is TooManyMatches, before they are all read."""
        body: dict[str, Any] = {
            "query": query,
            "sort": SORT,
            "size": self.config.page_size,
            "stored_fields": "_none_",
            "track_total_hits": False,
        }
        rows: list[list[Any]] = []
        while True:
            response = await self._search(body, "hits.hits.sort")
            hits = response.get("hits", {}).get("hits", [])
            rows.extend(hit["sort"] for hit in hits)
            if len(rows) > self.config.max_matches:
                self._refused.inc()
                raise TooManyMatches(
                    f"{pattern[:200]!r} matches more than {self.config.max_matches} nodes "
                    "(index.max_matches); narrow the glob"
                )
            if len(hits) < self.config.page_size:
                return rows
            body["search_after"] = rows[-1]

    async def _holds_tagged(self, path: str) -> bool:
        """Whether the tagged path spelled exactly `path` is held."""
        tagged = [{"term": {"path": path}}, {"exists": {"field": NAMES}}]
        body = {"query": {"bool": {"filter": tagged}}, "size": 1, "stored_fields": "_none_"}
        response = await self._search(body | {"track_total_hits": False}, "hits.hits._score")
        return bool(response.get("hits", {}).get("hits"))

    async def _try_ensure_index(self) -> None:
        """Create the index at start when Elasticsearch answers; the writer retries otherwise."""
        try:
            await self._ensure_index()
        except (TransportError, ApiError) as error:
            self._log.warning("ensure", "elasticsearch index not ready yet: %s", error)

    async def _ensure_index(self) -> None:
        """Create the index, or give an existing one the fields it lacks (an index made
        before tagged paths were kept has no `tags`)."""
        if self._index_ready:
            return
        if await self._es.indices.exists(index=self.config.index):
            await self._add_missing_fields()
        else:
            try:
                await self._es.indices.create(index=self.config.index, **MAPPING)
                log.info("created elasticsearch index %s", self.config.index)
            except BadRequestError as error:
                if error.error != "resource_already_exists_exception":
                    raise
        self._index_ready = True

    async def _add_missing_fields(self) -> None:
        """Put the mapping's fields that the index lacks (only then: it takes a privilege
        that writing documents does not)."""
        wanted = MAPPING["mappings"]["properties"]
        response = await self._es.indices.get_mapping(index=self.config.index)
        for mapping in response.body.values():
            held = mapping["mappings"].get("properties", {})
            if any(field not in held for field in wanted):
                await self._es.indices.put_mapping(index=self.config.index, properties=wanted)
                log.info("added the missing fields to elasticsearch index %s", self.config.index)
                return

    async def _refresh(self) -> None:
        await self._es.indices.refresh(index=self.config.index)

    async def _write_forever(self) -> None:
        """Hand queued nodes to `bulk_concurrency` writers a bulk at a time: as soon as a
        bulk is full, else every `flush_interval`."""
        send, receive = trio.open_memory_channel[tuple[int, list[Role]]](0)
        async with trio.open_nursery() as writers, send:
            async with receive:
                for _ in range(self.config.bulk_concurrency):
                    writers.start_soon(self._write_bulks, receive.clone())
            while True:
                if len(self._pending) < self.config.bulk_size:
                    with trio.move_on_after(self.config.flush_interval):
                        await self._wake.wait()
                    self._wake = trio.Event()
                if not self._pending:
                    continue
                await self._retrying("ensure", self._ensure_index)
                while self._pending:
                    bulk = self._pending[: self.config.bulk_size]
                    del self._pending[: len(bulk)]
                    self._in_flight.add(self._taken)
                    await send.send((self._taken, bulk))
                    self._taken += len(bulk)

    async def _write_bulks(
        self, receive: trio.MemoryReceiveChannel[tuple[int, list[Role]]]
    ) -> None:
        """Write bulks until the channel closes, each retried until written."""
        async with receive:
            async for offset, bulk in receive:
                await self._retrying("bulk", partial(self._bulk, bulk))
                self._in_flight.discard(offset)
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

    async def _bulk(self, bulk: list[Role]) -> None:
        """Index `bulk`; keep in it only the nodes that failed with a retriable status."""
        encoded = await trio.to_thread.run_sync(bulk_body, bulk)
        for path, _ in encoded.refused:
            self._bulk_errors.inc()
            self._log.warning("refused", "index refused path %r: it cannot be encoded", path)
        bulk[:] = encoded.nodes
        if not bulk:
            return
        response = await self._es.perform_request(
            "POST",
            f"/{self.config.index}/_bulk",
            params={"filter_path": "errors,items.*.status,items.*.error.type"},
            headers={"content-type": "application/x-ndjson", "accept": "application/json"},
            body=encoded.body,
        )
        if not response.body.get("errors"):
            self._indexed.inc(len(bulk))
            return
        self._collect_failures(bulk, response.body["items"])

    def _collect_failures(self, bulk: list[Role], items: list[dict[str, Any]]) -> None:
        """Count failed items; retry the retriable ones, drop (and log) the rest."""
        retry: list[Role] = []
        written = 0
        for node, item in zip(bulk, items, strict=True):
            result = item["create"]
            status = result.get("status", 500)
            if status < 300 or status == _EXISTS:
                written += 1
                continue
            self._bulk_errors.inc()
            if status in _RETRIABLE_STATUS:
                retry.append(node)
            else:
                reason = result.get("error", {}).get("type")
                self._log.warning("rejected", "index rejected path %r: %s", node[0], reason)
        self._indexed.inc(written)
        bulk[:] = retry
        if retry:
            raise _Retry(f"{len(retry)} nodes of a bulk write failed")


class _Retry(Exception):
    """Some nodes of a bulk write failed with a retriable status."""
