"""The Elasticsearch index against the shared tag contract, with pages small enough to
page, on an index made before tagged paths were kept, and how tag expressions become
Elasticsearch filters."""

from __future__ import annotations

import copy

import httpx
import pytest
import trio

from cyanite_py.counters import Registry
from cyanite_py.index.base import Node, TagValue
from cyanite_py.index.elasticsearch import ElasticsearchIndex
from cyanite_py.index.elasticsearch_documents import MAPPING
from cyanite_py.index.elasticsearch_tags import regex_prefix, series_query
from cyanite_py.tags import TagExpression, TagFilter, TagQuery
from cyanite_py.tags.expressions import compile_anchored
from tests.tags_contract import SERIES, UNTAGGED, TagIndexContract, brute_force, load, value_counts
from tests.test_index_elasticsearch import index_config, started

pytestmark = pytest.mark.elasticsearch


@pytest.fixture
async def index(
    nursery: trio.Nursery, elasticsearch_url: str, elasticsearch_index: str
) -> ElasticsearchIndex:
    return await started(nursery, index_config(elasticsearch_url, elasticsearch_index))


class TestElasticsearchTagIndex(TagIndexContract):
    pass


PATTERNS = [
    "web", "^web0", "web0[1-4]", "web0?", "web0*", "web0{1}", "web0+", "w|d", "(?i)WEB",
    "web\\d", "we.b", "caf\u00e9", "a b", "a=b", "a~", "", "^", "x$", "web01$",
]  # fmt: skip
VALUES = ["web01", "web02", "web1", "we", "w", "db01", "WEB01", "caf\u00e9", "a b", "a=b", "a~b"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_a_regex_prefix_begins_every_value_the_regex_matches(pattern: str) -> None:
    prefix = regex_prefix(pattern)
    regex = compile_anchored(pattern)
    for value in VALUES:
        if regex.match(value):
            assert value.startswith(prefix), (pattern, prefix, value)


def test_regex_prefixes_stop_where_a_character_may_be_absent() -> None:
    assert regex_prefix("web0[1-4]") == "web0"
    assert regex_prefix("^web0") == "web0"
    assert regex_prefix("web0?") == "web"
    assert regex_prefix("web0{0,1}") == "web"
    assert regex_prefix("web0+") == "web0"
    assert regex_prefix("web|db") == ""
    assert regex_prefix("(?i)web") == ""


def test_exact_expressions_are_terms_and_regexes_narrow_by_their_prefix() -> None:
    query = TagQuery.parse(["name=cpu", "dc!=eu", "os=", "rack!=", "host=~web0[12]", "x!=~y"])
    found = series_query(query)
    assert not found.exact
    assert found.query == {
        "bool": {
            "filter": [
                {"term": {"tags": "name=cpu"}},
                {"term": {"tag_names": "rack"}},
                {"prefix": {"tags": "host=web0"}},
            ],
            "must_not": [{"term": {"tags": "dc=eu"}}, {"term": {"tag_names": "os"}}],
        }
    }
    assert series_query(TagQuery.parse(["name=cpu", "dc!=eu", "os="])).exact
    assert series_query(TagQuery.parse(["name=~c.u"])).query == {
        "bool": {"filter": [{"prefix": {"tags": "name=c"}}], "must_not": []}
    }


async def test_answers_page_past_a_search_page(
    nursery: trio.Nursery, elasticsearch_url: str, elasticsearch_index: str
) -> None:
    config = index_config(elasticsearch_url, elasticsearch_index, page_size=2)
    index = await started(nursery, config)
    await load(index, SERIES + UNTAGGED)
    for texts in (["name=cpu"], ["host=~web0", "dc!=us"], ["dc!="]):
        query = TagQuery.parse(texts)
        assert await index.find_series(query, 1000) == brute_force(SERIES, query), texts
    assert await index.list_values("host", None, 1000) == value_counts(SERIES, "host")
    assert await index.list_values("host", TagFilter("db"), 1000) == [
        TagValue("db01", 1),
        TagValue("db01.example.com", 1),
    ]
    assert await index.list_tags(None, 1000) == ["dc", "host", "kind", "name", "os", "room", "zone"]
    one_dc = TagQuery.parse(["dc=eu"], TagExpression.has("host"))
    hosts = sorted({path.split("host=")[1].split(";")[0] for path in brute_force(SERIES, one_dc)})
    assert await index.autocomplete_values(one_dc, "host", "", 1000) == hosts
    assert await index.autocomplete_tags(None, "o", 1000) == ["os"]


async def test_an_index_made_before_tags_were_kept_is_given_their_fields(
    nursery: trio.Nursery, elasticsearch_url: str, elasticsearch_index: str
) -> None:
    older = copy.deepcopy(MAPPING)
    del older["mappings"]["properties"]["tags"], older["mappings"]["properties"]["tag_names"]
    path = "cpu;dc=eu;host=web01"
    async with httpx.AsyncClient(base_url=elasticsearch_url, timeout=30) as http:
        assert (await http.put(f"/{elasticsearch_index}", json=older)).status_code == 200
        # such a server kept a tagged path in the tree, split on its dots
        document = {"path": path, "depth": 1, "nodes": [f"0:{path}"], "leaf": True}
        written = await http.put(
            f"/{elasticsearch_index}/_doc/{path}", params={"refresh": "true"}, json=document
        )
        assert written.status_code == 201, written.text
    index = await started(nursery, index_config(elasticsearch_url, elasticsearch_index))
    await load(index, [path, "cpu;dc=us;host=web02", "plain.path"])
    assert await index.find("*") == [Node("plain", leaf=False, branch=True)]
    assert await index.find(path) == [Node(path, leaf=True, branch=False)]
    query = TagQuery.parse(["name=cpu"])
    assert await index.find_series(query, 10) == [path, "cpu;dc=us;host=web02"]
    async with httpx.AsyncClient(base_url=elasticsearch_url) as http:
        mapping = (await http.get(f"/{elasticsearch_index}/_mapping")).json()
    assert mapping[elasticsearch_index]["mappings"] == MAPPING["mappings"]


async def test_tagged_paths_are_counted_as_added_paths(
    nursery: trio.Nursery, elasticsearch_url: str, elasticsearch_index: str
) -> None:
    registry = Registry()
    config = index_config(elasticsearch_url, elasticsearch_index)
    index = await started(nursery, config, registry)
    await load(index, SERIES + UNTAGGED + SERIES[:3])
    assert registry.value("index_paths_added") == len(SERIES) + len(UNTAGGED)
    assert registry.value("index_bulk_errors", index="elasticsearch") == 0
