"""How a function is declared: graphite-web's parameter types, and what `/functions` shows.

Parameters are declared as graphite-web declares them, so Grafana's query editor offers
the same arguments, and arguments are checked against them before a function runs.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from cyanite_py.api.attime import parse_offset
from cyanite_py.api.functions.series import AGGREGATORS, InputError, RenderSeries

SERIES_TYPES = frozenset(("seriesList", "seriesLists", "series"))

Impl = Callable[..., Awaitable[list[RenderSeries]]]


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter, with graphite-web's type name."""

    name: str
    type: str
    required: bool = False
    default: object = None
    multiple: bool = False
    options: tuple[object, ...] = ()
    suggestions: tuple[object, ...] = ()
    absent: object = ...
    """What the implementation receives when the argument is not given, where that is
    not the default shown (graphite-web's round() names `round(x)`, not `round(x,0)`)."""

    def fill(self) -> object:
        """The value of an argument not given."""
        return self.default if self.absent is ... else self.absent

    def to_json(self, series_functions: Sequence[str] = ()) -> dict[str, object]:
        """The parameter as graphite-web's `/functions` lists it (absent keys mean no).

        Aggregation parameters list their choices, the aggregating series functions
        (`series_functions`) too where a callback may name one, so Grafana's editor
        offers them in a drop-down; an infinite default is written `1e9999`, as
        graphite-web writes it.
        """
        shown: dict[str, object] = {"name": self.name, "type": self.type}
        if self.required:
            shown["required"] = True
        if self.default is not None:
            shown["default"] = self.default if _finite(self.default) else _infinity(self.default)
        if self.multiple:
            shown["multiple"] = True
        options = {*self.options, *_type_options(self.type, series_functions)}
        if options:
            shown["options"] = sorted(options, key=str)
        if self.suggestions:
            shown["suggestions"] = list(self.suggestions)
        return shown

    def check(self, function: str, value: object) -> object:
        """`value` if it fits this parameter's type and options, else an InputError."""
        if self.options:
            if value not in self.options:
                raise InputError(
                    f'invalid option "{value}" for parameter "{self.name}" of function "{function}"'
                )
            return value
        if not _VALIDATORS.get(self.type, _any)(value):
            raise InputError(
                f'invalid {self.type} value for parameter "{self.name}" '
                f'of function "{function}": {value!r}'
            )
        if self.type == "float" and not isinstance(value, bool):
            return float(value)  # type: ignore[arg-type]
        return value


@dataclass(frozen=True, slots=True)
class Function:
    """A series function: its graphite-web description and its implementation.

    `impl(ctx, *values)` receives one value per parameter in order (a `multiple`
    parameter, always last, spreads over the remaining values). When `lazy`, the first
    parameter is not evaluated but handed over as a source that can be evaluated over
    another time range (timeShift, movingAverage).
    """

    name: str
    group: str
    description: str
    params: tuple[Param, ...]
    impl: Impl
    aggregator: bool = False
    lazy: bool = False
    lists: bool = False
    """When true the function gives lists of series (mapSeries), which only a
    `seriesLists` parameter (reduceSeries) takes."""
    named_by_call: bool = False
    """When true the series it gives take the call as written for their path expression,
    as graphite-web's seriesByTag gives them."""

    def to_json(self, series_functions: Sequence[str] = ()) -> dict[str, Any]:
        """graphite-web's description of the function for `/functions`."""
        return {
            "name": self.name,
            "function": f"{self.name}({', '.join(_signature(param) for param in self.params)})",
            "description": self.description,
            "module": "graphite.render.functions",
            "group": self.group,
            "params": [param.to_json(series_functions) for param in self.params],
        }


def _signature(param: Param) -> str:
    if param.multiple:
        return f"*{param.name}"
    if param.required or param.default is None:
        return param.name if param.required else f"{param.name}=None"
    return f"{param.name}={param.default!r}"


def _finite(value: object) -> bool:
    return not (isinstance(value, float) and not math.isfinite(value))


def _infinity(value: object) -> orjson.Fragment:
    return orjson.Fragment(b"1e9999" if float(value) > 0 else b"-1e9999")  # type: ignore[arg-type]


def _type_options(kind: str, series_functions: Sequence[str]) -> tuple[str, ...]:
    """The choices graphite-web's parameter types carry: aggregations, and callbacks."""
    if kind == "aggFunc":
        return tuple(AGGREGATORS)
    if kind == "aggOrSeriesFunc":
        return (*AGGREGATORS, *series_functions)
    return ()


def _any(value: object) -> bool:
    return True


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _float(value: object) -> bool:
    return _integer(value) or isinstance(value, float)


def _interval(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_offset(value)
    except ValueError:
        return False
    return True


def _aggregation(value: object) -> bool:
    return isinstance(value, str) and value.removesuffix("Series") in AGGREGATORS


_VALIDATORS: dict[str, Callable[[object], bool]] = {
    "boolean": lambda value: isinstance(value, bool),
    "integer": _integer,
    "node": _integer,
    "float": _float,
    "intOrInf": lambda value: _integer(value) or value == math.inf,
    "interval": _interval,
    "intOrInterval": lambda value: _integer(value) or _interval(value),
    "string": lambda value: isinstance(value, str),
    "tag": lambda value: isinstance(value, str),
    "date": lambda value: isinstance(value, str | int) and not isinstance(value, bool),
    "nodeOrTag": lambda value: _integer(value) or isinstance(value, str),
    "aggFunc": _aggregation,
    "seriesList": lambda value: isinstance(value, list),
    "seriesLists": lambda value: isinstance(value, list),
}
