"""Which resolutions a path is kept at: Cyanite's rules, a regex searched in the path,
tried in order, the first match winning, and `default` matching everything."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cyanite_py.model import Resolution
from cyanite_py.settings import Duration, ResolutionSetting, settings

DEFAULT_RULES: dict[str, list[Resolution]] = {
    "default": [Resolution(10, 86400), Resolution(300, 30 * 86400)]
}


@settings
class EngineConfig:
    """`rules` maps a regex (searched in the path, tried in order) to resolutions; `default`
    matches every path. `flush_interval` is how often the wall clock closes windows;
    `checkpoint_interval` how often the points of windows still open are written as
    partial windows (0: only when windows close), which bounds what a crash loses."""

    rules: dict[str, list[ResolutionSetting]] = field(default_factory=lambda: dict(DEFAULT_RULES))
    flush_interval: Duration = 1
    checkpoint_interval: Duration = 5
    max_batch_points: int = 200_000

    def __post_init__(self) -> None:
        for pattern, resolutions in self.rules.items():
            if not resolutions:
                raise ValueError(f"rule {pattern!r} has no resolutions")
            if pattern != "default":
                re.compile(pattern)


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
