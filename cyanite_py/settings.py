"""How component configurations are declared: frozen, validated, unknown keys rejected.

Each component declares `@settings class Config:` with its documented defaults as field
defaults; `cyanite_py.config` assembles them from YAML and reports the key's path on error.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar, dataclass_transform

from pydantic import BeforeValidator, ConfigDict, PlainSerializer
from pydantic.dataclasses import dataclass

from cyanite_py.model import Resolution, format_duration, parse_duration

T = TypeVar("T")

_STRICT = ConfigDict(extra="forbid", strict=False)


@dataclass_transform(frozen_default=True)
def settings(cls: type[T]) -> type[T]:
    """Make `cls` a frozen configuration dataclass that validates its fields on construction."""
    return dataclass(frozen=True, config=_STRICT)(cls)  # type: ignore[return-value]


def _duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str | int) else value


def _resolution(value: Any) -> Any:
    return Resolution.parse(value) if isinstance(value, str) else value


Duration = Annotated[int, BeforeValidator(_duration), PlainSerializer(format_duration)]
"""Seconds, written in YAML as `30`, `"10s"`, `"5m"`, `"1h"`, `"1d"`, `"1w"` or `"1y"`."""

ResolutionSetting = Annotated[Resolution, BeforeValidator(_resolution), PlainSerializer(str)]
"""A resolution written as `"precision:period"`, e.g. `"10s:1d"`."""
