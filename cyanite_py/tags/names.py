"""Tagged series names as Graphite spells them: `name;tag1=value1;tag2=value2`.

Carbon takes a tagged name in two forms, its own (`cpu;host=web01;dc=eu`) and
OpenMetrics' (`cpu{host="web01",dc="eu"}`), and keeps it in one spelling: the name,
then a `;tag=value` for each tag, sorted as text. Tags and values may not be empty; a
tag may not hold `;`, `!`, `^` or `=`, a value may not hold `;` nor start with `~`.
Leading `~` are dropped from the name, which becomes the tag `name`. A name that breaks
these rules is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PROHIBITED_IN_TAG = ";!^="

_OPENMETRICS_TAG = re.compile(r'([^=]+)="((?:[\\]["\\]|[^"\\])+)"(:?,|$)')
"""One `tag="value"` of the OpenMetrics form, as carbon reads it (a `:` may precede the
comma); the value's quotes and backslashes are escaped with a backslash."""

_FUNCTION_CALL = re.compile(r"[a-z]+\(.+\)", re.IGNORECASE)
"""A name graphite-web takes for a call's (`sumSeries(a;b=c)`): it reads no tags from it."""


class TagError(ValueError):
    """A tagged name or tag expression Graphite refuses; the message says why."""


def is_tagged(path: str) -> bool:
    """Whether `path` is written as a tagged name, in either form."""
    return ";" in path or _is_openmetrics(path)


def _is_openmetrics(path: str) -> bool:
    return path.endswith('"}') and "{" in path


def parse_tags(path: str) -> dict[str, str]:
    """The tags of a tagged name, `name` among them; a TagError for a name Graphite refuses."""
    if _is_openmetrics(path):
        return _parse_openmetrics(path)
    metric, *segments = path.split(";")
    if not metric:
        raise TagError(f"no name before the tags of {path[:200]!r}")
    tags: dict[str, str] = {}
    for segment in segments:
        tag, equals, value = segment.partition("=")
        if not equals or not tag:
            raise TagError(f"{segment[:100]!r} in {path[:200]!r} is not tag=value")
        check_tag(tag, value)
        tags[tag] = value
    tags["name"] = _name_value(metric)
    return tags


def _parse_openmetrics(path: str) -> dict[str, str]:
    metric, _, rest = path[:-1].partition("{")
    if not metric:
        raise TagError(f"no name before the tags of {path[:200]!r}")
    if "{" in rest:
        raise TagError(f"more than one '{{' in {path[:200]!r}")
    tags: dict[str, str] = {}
    while rest:
        found = _OPENMETRICS_TAG.match(rest)
        if found is None:
            raise TagError(f'{rest[:100]!r} in {path[:200]!r} is not tag="value"')
        tag = found.group(1)
        value = found.group(2).replace('\\"', '"').replace("\\\\", "\\")
        check_tag(tag, value)
        tags[tag] = value
        rest = rest[found.end() :]
    tags["name"] = _name_value(metric)
    return tags


def check_tag(tag: str, value: str) -> None:
    """A TagError unless `tag` and `value` are a tag and value Graphite takes."""
    if not tag:
        raise TagError("a tag may not be empty")
    if not value:
        raise TagError(f"the value of tag {tag[:100]!r} may not be empty")
    for char in PROHIBITED_IN_TAG:
        if char in tag:
            raise TagError(f"{char!r} is not allowed in tag {tag[:100]!r}")
    if ";" in value:
        raise TagError(f"';' is not allowed in the value {value[:100]!r} of tag {tag[:100]!r}")
    if value.startswith("~"):
        raise TagError(f"the value of tag {tag[:100]!r} may not start with '~'")


def _name_value(metric: str) -> str:
    """The name as a tag value: without leading `~`, which must leave something."""
    name = metric.lstrip("~")
    if not name:
        raise TagError(f"the name {metric[:100]!r} is empty without its leading '~'")
    return name


def format_tags(tags: Mapping[str, str]) -> str:
    """Graphite's spelling of a tagged name: the name, then `;tag=value` sorted."""
    return tags.get("name", "") + "".join(
        sorted(f";{tag}={value}" for tag, value in tags.items() if tag != "name")
    )


def normalise(path: str) -> str:
    """`path` in Graphite's spelling (tags sorted); a TagError for a name it refuses."""
    return format_tags(parse_tags(path))


def series_tags(name: str) -> dict[str, str]:
    """The tags a rendered series named `name` carries, as graphite-web gives them: those
    of a tagged name, else (a call's name, or a name it cannot parse) only `name`."""
    if (";" in name or name.startswith("~") or _is_openmetrics(name)) and not (
        _FUNCTION_CALL.fullmatch(name)
    ):
        try:
            return parse_tags(name)
        except TagError:
            pass
    return {"name": name}
