"""How path nodes are kept in Elasticsearch: the mapping, the documents and their ids, and
the bodies of bulk writes.

A node is written as one document per role it has, a leaf document and a branch
document, each with its path, `depth`, `nodes` (its names tagged with their position,
`"2:cpu"`) and both flags. A document never changes, so every write is a `create` that any
server may repeat or retry: no read-modify-write, a document already there costs only a
look-up of its id (409, taken as done), and a node two servers know in different roles
ends up with both documents. A reader joins a path's documents by OR-ing their flags,
which also reads an index written one document per node (ids that are paths, flags set by
upserts) as it stands.

A tagged path (`cpu;dc=eu;host=web01`) is one document of its own, outside the tree: its
path, `tags` (`"dc=eu"`, and `"name=cpu"` for its name) and `tag_names`, without `depth`,
so no glob ever reaches it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from cyanite_py.tags import TagError, is_tagged, parse_tags

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
            "tags": {"type": "keyword"},
            "tag_names": {"type": "keyword"},
        },
    },
}
"""The index's settings and mapping, applied when the index is missing (an existing index
is given the fields it lacks); also in schema/elasticsearch-paths.json for creating it by
hand."""

LEAF = 1
BRANCH = 2
TAGGED = 3
_ROLES = {LEAF: b"leaf", BRANCH: b"branch", TAGGED: b"tagged"}
_SOURCES = {
    LEAF: b'{"path":%b,"depth":%d,"nodes":%b,"leaf":true,"branch":false}',
    BRANCH: b'{"path":%b,"depth":%d,"nodes":%b,"leaf":false,"branch":true}',
}
_TAGGED_SOURCE = b'{"path":%b,"tags":%b,"tag_names":%b,"leaf":true,"branch":false}'

Role = tuple[str, int]
"""A path and its role: `LEAF` or `BRANCH` of the tree, or `TAGGED`."""


def is_tagged_path(path: str) -> bool:
    """Whether `path` is a tagged path Graphite can read (`cpu;dc=eu`); one it cannot read
    as tagged (`plain;no.tags`) stays a path of the tree."""
    if not is_tagged(path):
        return False
    try:
        parse_tags(path)
    except TagError:
        return False
    return True


def document_id(path: str, role: int) -> str:
    """The id of a node's document for `role`: 24 characters of a hash of both, so a path
    of any length fits Elasticsearch's 512-byte ids and no id is ever a path."""
    digest = hashlib.blake2b(path.encode(), digest_size=18, person=_ROLES[role]).digest()
    return base64.urlsafe_b64encode(digest).decode()


def document_source(path: str, role: int) -> bytes:
    """The JSON of a node's document for `role`; a TagError for a `TAGGED` path that
    Graphite cannot read as tagged."""
    if role == TAGGED:
        tags = sorted(parse_tags(path).items())
        pairs = orjson.dumps([f"{tag}={value}" for tag, value in tags])
        return _TAGGED_SOURCE % (orjson.dumps(path), pairs, orjson.dumps([tag for tag, _ in tags]))
    names = path.split(".")
    tagged = orjson.dumps([f"{position}:{name}" for position, name in enumerate(names)])
    return _SOURCES[role] % (orjson.dumps(path), len(names), tagged)


@dataclass(frozen=True, slots=True)
class BulkBody:
    """An ndjson bulk body, the nodes it indexes in the order of its actions, and the nodes
    left out because they cannot be written (a path holding a lone surrogate)."""

    body: bytes
    nodes: list[Role]
    refused: list[Role]


def bulk_body(nodes: Sequence[Role]) -> BulkBody:
    """The body of a bulk request that indexes `nodes`."""
    lines: list[bytes] = []
    written: list[Role] = []
    refused: list[Role] = []
    for node in nodes:
        path, role = node
        try:
            action = b'{"create":{"_id":"%s"}}\n' % document_id(path, role).encode()
            source = document_source(path, role)
        except (UnicodeEncodeError, orjson.JSONEncodeError, TagError):
            refused.append(node)
            continue
        lines += (action, source, b"\n")
        written.append(node)
    return BulkBody(b"".join(lines), written, refused)
