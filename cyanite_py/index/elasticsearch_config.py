"""Settings of the Elasticsearch index, apart from the index itself, so reading a
configuration does not load the Elasticsearch client."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cyanite_py.settings import settings


@settings
class ElasticsearchIndexConfig:
    """`index:` settings for `type: elasticsearch`.

    `bulk_size` nodes at most per bulk request, `bulk_concurrency` requests at once; queued
    nodes are written at least every `flush_interval` seconds; failed writes are retried
    after `retry_min` seconds, doubling up to `retry_max`; each request gives up after
    `request_timeout` seconds; `page_size` hits per search request (results page past it
    with `search_after`); a glob matching more than `max_matches` nodes is refused.
    """

    type: Literal["elasticsearch"] = "elasticsearch"
    url: str = "http://127.0.0.1:9200"
    index: str = "cyanite_paths"
    username: str | None = None
    password: str | None = None
    bulk_size: int = 5000
    bulk_concurrency: int = Field(default=4, ge=1)
    flush_interval: float = 1.0
    request_timeout: float = 10.0
    retry_min: float = 0.1
    retry_max: float = 10.0
    page_size: int = 10000
    max_matches: int = Field(default=200_000, ge=1)
