"""Which resolutions a path is kept at, and how its windows roll up: Cyanite's rules, a
regex searched in the path, tried in order, the first match winning, and `default`
matching everything.

A rule is the list of its resolutions, or a mapping that also names its aggregation
(what a read takes of each window and of coarser buckets of windows when the query does
not say: carbon's aggregationMethod) and its xFilesFactor (the fraction of a coarser
window's finer windows that must hold data for it to hold a value). A rule that names no
aggregation leaves it to the input that writes the path (sFlow's counters: `last`), and
to `mean` for every other path."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, NonNegativeInt, Tag

from cyanite_py.model import Aggregate, Resolution, Rollup
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

ROLLUP_AGGREGATES = (Aggregate.MEAN, Aggregate.SUM, Aggregate.MIN, Aggregate.MAX, Aggregate.LAST)
"""What a rule may roll its windows up by: carbon's methods (`average` is `mean`)."""


def _rollup_aggregate(value: Any) -> Any:
    """A rule's `aggregation`, read as carbon spells it; a count is no way to roll up."""
    if not isinstance(value, str):
        return value
    choices = "average, sum, min, max or last"
    try:
        aggregate = Aggregate.parse(value)
    except ValueError:
        raise ValueError(f"must be {choices}, not {value!r}") from None
    if aggregate not in ROLLUP_AGGREGATES:
        raise ValueError(f"must be {choices}, not {value!r}")
    return aggregate


RuleAggregation = Annotated[Aggregate, BeforeValidator(_rollup_aggregate)]


@settings
class RuleConfig:
    """A rule written as a mapping: its `resolutions`; the `aggregation` reads and
    roll-ups use when the query does not say (average, sum, min, max or last; unset: the
    input's default for the path, else average); and `x_files_factor`, the fraction of a
    coarser window's finer windows that must hold data for it to hold a value."""

    resolutions: RuleResolutions
    aggregation: RuleAggregation | None = None
    x_files_factor: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0


RULE_FORMS = ("list", "mapping")
"""How a rule may be written; `cyanite_py.config` leaves these out of a key's path."""


def _rule_form(value: Any) -> str | None:
    """Which way a rule is written: the list of its resolutions, or a mapping."""
    if isinstance(value, list | tuple):
        return "list"
    return "mapping" if isinstance(value, dict | RuleConfig) else None


RuleSetting = Annotated[
    Annotated[RuleResolutions, Tag("list")] | Annotated[RuleConfig, Tag("mapping")],
    Discriminator(
        _rule_form,
        custom_error_type="rule",
        custom_error_message="a rule is a list of resolutions, or a mapping of resolutions,"
        " aggregation and x_files_factor",
    ),
]
"""A rule: `["10s:1d", "5m:30d"]`, or `{resolutions: [...], aggregation: last, ...}`."""


@settings
class EngineConfig:
    """`rules` maps a regex (searched in the path, tried in order) to resolutions, or to a
    `RuleConfig` that also says how windows roll up; `default` matches every path.
    `flush_interval` is how often the wall clock closes windows; `checkpoint_interval` how
    often the points of windows still open are written as
    partial windows (0: only when windows close), which bounds what a crash loses.
    `max_series` bounds the paths the engine holds and `max_new_series_per_minute` how fast
    new ones come (0: no bound); points of paths refused are dropped and counted."""

    rules: Mapping[RulePattern, RuleSetting] = field(default_factory=lambda: dict(DEFAULT_RULES))
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


InputAggregation = Callable[[str], Aggregate | None]
"""The aggregate the input writing a path gives it (sFlow's counters: last), if any."""


def no_input_aggregation(path: str) -> Aggregate | None:
    """No input gives any path an aggregate of its own."""
    return None


def first_input_aggregation(inputs: Sequence[InputAggregation]) -> InputAggregation:
    """The aggregate the first of `inputs` that gives `path` one gives it."""

    def aggregation(path: str) -> Aggregate | None:
        for given in inputs:
            found = given(path)
            if found is not None:
                return found
        return None

    return aggregation


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: re.Pattern[str]
    resolutions: tuple[Resolution, ...]
    aggregation: Aggregate | None = None
    """None: the input's default for the path, else mean."""
    x_files_factor: float = 0.0

    def rollup(self, path: str, by_input: InputAggregation) -> Rollup:
        """How `path`, which this rule matched, rolls up."""
        aggregate = self.aggregation or by_input(path) or Aggregate.MEAN
        return Rollup(aggregate, self.x_files_factor)


def compile_rules(rules: Mapping[str, Sequence[Resolution] | RuleConfig]) -> tuple[Rule, ...]:
    """Rules in order, finest resolution first within each; `default` matches everything."""
    compiled = []
    for pattern, setting in rules.items():
        if not isinstance(setting, RuleConfig):
            setting = RuleConfig(list(setting))
        compiled.append(
            Rule(
                re.compile("" if pattern == "default" else pattern),
                tuple(sorted(set(setting.resolutions), key=lambda r: (r.precision, r.period))),
                setting.aggregation,
                setting.x_files_factor,
            )
        )
    return tuple(compiled)


def match_rule(rules: tuple[Rule, ...], path: str) -> int:
    """The position of the first rule found in `path`, else the last rule's."""
    for position, rule in enumerate(rules):
        if rule.pattern.search(path):
            return position
    return len(rules) - 1
