"""The Elasticsearch index refuses a glob matching more than `max_matches` nodes, before
it has read them all, as the memory index does."""

from __future__ import annotations

import pytest
import trio

from cyanite_py.counters import Registry
from cyanite_py.index.elasticsearch import ElasticsearchIndex
from cyanite_py.index.elasticsearch_config import ElasticsearchIndexConfig
from cyanite_py.index.glob import TooManyMatches

pytestmark = pytest.mark.elasticsearch


async def test_a_glob_matching_too_many_nodes_is_refused(
    nursery: trio.Nursery, elasticsearch_url: str, elasticsearch_index: str
) -> None:
    config = ElasticsearchIndexConfig(
        url=elasticsearch_url,
        index=elasticsearch_index,
        flush_interval=0.05,
        page_size=10,
        max_matches=25,
    )
    registry = Registry()
    index = ElasticsearchIndex(config, registry)
    await nursery.start(index.run)
    index.add([f"many.n{number:02d}" for number in range(40)] + ["few.a", "few.b"])
    await index.flush()
    with pytest.raises(TooManyMatches, match=r"index\.max_matches"):
        await index.find("many.*")
    assert registry.value("index_finds_refused") == 1
    assert [node.path for node in await index.find("few.*")] == ["few.a", "few.b"]
    # Paging up to the bound still answers whole.
    assert len(await index.find("many.n[0-1]*")) == 20
