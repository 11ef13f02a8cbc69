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
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

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
_ROLES = {LEAF: b"leaf", BRANCH: b"branch"}
_SOURCES = {
    LEAF: b'{"path":%b,"depth":%d,"nodes":%b,"leaf":true,"branch":false}',
    BRANCH: b'{"path":%b,"depth":%d,"nodes":%b,"leaf":false,"branch":true}',
}

Role = tuple[str, int]
"""A node's path and one of its roles, `LEAF` or `BRANCH`."""


def document_id(path: str, role: int) -> str:
    """The id of a node's document for `role`: 24 characters of a hash of both, so a path
    of any length fits Elasticsearch's 512-byte ids and no id is ever a path."""
    digest = hashlib.blake2b(path.encode(), digest_size=18, person=_ROLES[role]).digest()
    return base64.urlsafe_b64encode(digest).decode()


def document_source(path: str, role: int) -> bytes:
    """The JSON of a node's document for `role`."""
    names = path.split(".")
    tagged = orjson.dumps([f"{position}:{name}" for position, name in enumerate(names)])
    return _SOURCES[role] % (orjson.dumps(path), len(names), tagged)


@dataclass(frozen=True, slots=True)
class BulkBody:
    """An ndjson bulk body, the nodes it indexes in the order of its actions, and the nodes
    left out because they cannot be written as JSON (a path holding a lone surrogate)."""

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
        except (UnicodeEncodeError, orjson.JSONEncodeError):
            refused.append(node)
            continue
        lines += (action, source, b"\n")
        written.append(node)
    return BulkBody(b"".join(lines), written, refused)
