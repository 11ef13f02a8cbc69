"""graphite-web's series functions, evaluated over the reader's data.

`FUNCTIONS` maps each served function's name to its description and implementation;
`evaluate` runs a parsed target over a `Context`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from cyanite_py.api.functions import combine, filters, naming, special, timewise, transform
from cyanite_py.api.functions.evaluate import Context, evaluate
from cyanite_py.api.functions.registry import Function
from cyanite_py.api.functions.series import InputError, RenderSeries

FUNCTIONS: Mapping[str, Function] = MappingProxyType(
    {
        function.name: function
        for module in (combine, naming, filters, special, timewise, transform)
        for function in module.FUNCTIONS
    }
)

__all__ = ["FUNCTIONS", "Context", "Function", "InputError", "RenderSeries", "evaluate"]
