"""Which resolutions a path is kept at: Cyanite's rules, a regex searched in the path,
tried in order, the first match winning, and `default` matching everything."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import AfterValidator, Field, NonNegativeInt

from cyanite_py.model import Resolution
from cyanite_py.settings import Duration, ResolutionSetting, settings

DEFAULT_RULES: dict[str, list[Resolution]] = {
    "default": [Resolution(10, 86400), Resolution(300, 30 * 86400)]
}


def _pattern(pattern: str) -> str:
    """A rule's key: `default`, or a regex that compiles (named by its key on error)."""
    if pattern != "default":
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"not a regular expression: {error}") from None
    return pattern


RulePattern = Annotated[str, AfterValidator(_pattern)]
RuleResolutions = Annotated[list[ResolutionSetting], Field(min_length=1)]


@settings
class EngineConfig:
    """`rules` maps a regex (searched in the path, tried in order) to resolutions; `default`
    matches every path. `flush_interval` is how often the wall clock closes windows;
    `checkpoint_interval` how often the points of windows still open are written as
    partial windows (0: only when windows close), which bounds what a crash loses.
    `max_series` bounds the paths the engine holds and `max_new_series_per_minute` how fast
    new ones come (0: no bound); points of paths refused are dropped and counted."""

    rules: dict[RulePattern, RuleResolutions] = field(default_factory=lambda: dict(DEFAULT_RULES))
    flush_interval: Duration = 1
    checkpoint_interval: Duration = 5
    max_batch_points: int = 200_000
    max_series: NonNegativeInt = 10_000_000
    max_new_series_per_minute: NonNegativeInt = 0


@settings
class DriftConfig:
    """How far clients' clocks may be off: `grace` delays closing a window after its end;
    points more than `max_future` ahead of the server's clock are dropped."""

    grace: Duration = 10
    max_future: Duration = 600


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: re.Pattern[str]
    resolutions: tuple[Resolution, ...]


def compile_rules(rules: dict[str, list[Resolution]]) -> tuple[Rule, ...]:
    """Rules in order, finest resolution first within each; `default` matches everything."""
    return tuple(
        Rule(
            re.compile("" if pattern == "default" else pattern),
            tuple(sorted(set(resolutions), key=lambda r: (r.precision, r.period))),
        )
        for pattern, resolutions in rules.items()
    )


def match_rule(rules: tuple[Rule, ...], path: str) -> int:
    """The position of the first rule found in `path`, else the last rule's."""
    for position, rule in enumerate(rules):
        if rule.pattern.search(path):
            return position
    return len(rules) - 1
