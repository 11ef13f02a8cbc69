"""graphite-web's series functions, evaluated over the reader's data.

`FUNCTIONS` maps each served function's name to its description and implementation
(graphite-web's short names, such as `sum` for `sumSeries`, included); `evaluate` runs
a parsed target over a `Context`; `describe` gives a function's `/functions` entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from cyanite_py.api.functions import (
    arithmetic,
    combine,
    display,
    filters,
    forecast,
    generators,
    moving,
    naming,
    pointwise,
    selection,
    special,
    tags,
    timewise,
    transform,
    wildcards,
)
from cyanite_py.api.functions.evaluate import Context, evaluate
from cyanite_py.api.functions.registry import Function
from cyanite_py.api.functions.series import InputError, RenderSeries

_MODULES = (
    combine,
    wildcards,
    naming,
    display,
    filters,
    selection,
    special,
    tags,
    generators,
    timewise,
    moving,
    forecast,
    transform,
    pointwise,
    arithmetic,
)
_ALIASES = {
    "sum": "sumSeries",
    "avg": "averageSeries",
    "pct": "asPercent",
    "xFilesFactor": "setXFilesFactor",
    "time": "timeFunction",
    "sin": "sinFunction",
    "randomWalk": "randomWalkFunction",
    "map": "mapSeries",
    "reduce": "reduceSeries",
}
"""graphite-web's other names for functions, listed and called under both."""


def _collect() -> dict[str, Function]:
    found = {function.name: function for module in _MODULES for function in module.FUNCTIONS}
    for alias, name in _ALIASES.items():
        found[alias] = replace(found[name], name=alias)
    return found


FUNCTIONS: Mapping[str, Function] = MappingProxyType(_collect())
_AGGREGATING = tuple(name for name, function in FUNCTIONS.items() if function.aggregator)


def describe(function: Function) -> dict[str, Any]:
    """graphite-web's `/functions` entry, callbacks offering the aggregating functions."""
    return function.to_json(_AGGREGATING)


__all__ = [
    "FUNCTIONS",
    "Context",
    "Function",
    "InputError",
    "RenderSeries",
    "describe",
    "evaluate",
]
