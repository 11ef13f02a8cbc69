"""The answers a graphite-web 1.1 front end reads from the servers in its CLUSTER_SERVERS.

Its remote finder asks `/metrics/find/?local=1&format=pickle&query=…` and its remote reader
`/render/?local=1&format=pickle&target=…&from=&until=&now=` (`format=msgpack` when the
server's address in CLUSTER_SERVERS ends `?format=msgpack`), then decodes the answer as
msgpack when its content type is `application/x-msgpack`, else as a pickle. These are
those answers: a list of plain dicts, lists, strings and numbers, pickled at protocol 2
(no class named, so graphite-web's restricted unpickler and Python 2 front ends read it).
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Sequence

import msgpack

from cyanite_py.api.functions.series import RenderSeries
from cyanite_py.index.base import Node

MEDIA_TYPES = {"pickle": "application/pickle", "msgpack": "application/x-msgpack"}
PICKLE_PROTOCOL = 2

Interval = tuple[int, int]


def encode(fmt: str, payload: object) -> bytes:
    """`payload` in `fmt`, one of `MEDIA_TYPES`."""
    if fmt == "msgpack":
        packed: bytes = msgpack.packb(payload, use_bin_type=True)
        return packed
    return pickle.dumps(payload, protocol=PICKLE_PROTOCOL)


def series_infos(data: Sequence[RenderSeries]) -> list[dict[str, object]]:
    """Each rendered series as graphite-web's `TimeSeries.getInfo()` describes it, no data
    as None."""
    return [
        {
            "name": series.name,
            "start": series.start,
            "end": series.end,
            "step": series.step,
            "values": [None if math.isnan(v) else v for v in series.values.tolist()],
            "pathExpression": series.path_expression,
            "valuesPerPoint": series.values_per_point,
            "consolidationFunc": series.consolidation_func,
            "xFilesFactor": series.x_files_factor,
        }
        for series in data
    ]


def node_infos(
    nodes: Sequence[Node], interval: Callable[[str], Interval]
) -> list[dict[str, object]]:
    """Each node as graphite-web's find answers it: `path`, `is_leaf` and, for a leaf,
    the `intervals` it may hold data for (`interval(path)`). A node that is both a branch
    and a leaf is listed once as each, as graphite-web's finders list it."""
    infos: list[dict[str, object]] = []
    for node in sorted(nodes, key=lambda node: node.name):
        if node.branch:
            infos.append({"path": node.path, "is_leaf": False})
        if node.leaf:
            infos.append({"path": node.path, "is_leaf": True, "intervals": [interval(node.path)]})
    return infos
