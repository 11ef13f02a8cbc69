"""carbon's `storage-schemas.conf` as an `engine.rules` snippet.

Both are first-match lists of a regex searched in the path and its retentions, so each
section becomes one rule; whisper's `precision:points` (`60:1440`, `1m:1d`) becomes
cyanite's `precision:period` (`1m:1d`). A `.*` section becomes `default`.
"""

from __future__ import annotations

import configparser
import json
import re
from dataclasses import dataclass
from pathlib import Path

from cyanite_py.engine.rules import DEFAULT_RULES
from cyanite_py.model import Resolution

_CATCH_ALL = {"", ".*", "^.*", ".*$", "^.*$", ".", "^"}
_AMOUNT = re.compile(r"^(\d+)([a-z]*)$")
_UNIT_SECONDS = {
    "seconds": 1,
    "minutes": 60,
    "hours": 3600,
    "days": 86400,
    "weeks": 7 * 86400,
    "years": 365 * 86400,
}
"""whisper's units: any prefix of a name (`m` and `min` are minutes), as whisper reads them."""


class SchemaError(ValueError):
    """The file cannot be read as carbon's storage-schemas.conf; the message names where."""


@dataclass(frozen=True, slots=True)
class Schema:
    """One section: its name, the regex, and the resolutions it keeps."""

    name: str
    pattern: str
    resolutions: tuple[Resolution, ...]


def read_schemas(path: Path) -> list[Schema]:
    """The sections of `path` in order; a section without a pattern or retentions (such
    as carbon's `[default]` placeholders with only comments) is an error naming it."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as source:
            parser.read_file(source)
    except (OSError, UnicodeDecodeError, configparser.Error) as error:
        raise SchemaError(f"{path}: cannot read: {error}") from None
    schemas = []
    for name in parser.sections():
        section = parser[name]
        if "pattern" not in section or "retentions" not in section:
            raise SchemaError(f"{path}: [{name}]: needs both pattern and retentions")
        pattern = section["pattern"].strip()
        try:
            re.compile(pattern)
            resolutions = tuple(_resolution(part) for part in section["retentions"].split(","))
        except (re.error, ValueError) as error:
            raise SchemaError(f"{path}: [{name}]: {error}") from None
        schemas.append(Schema(name, pattern, resolutions))
    return schemas


def _resolution(retention: str) -> Resolution:
    """whisper's `precision:points`, where points may also be a duration (`1m:7d`)."""
    precision_text, sep, points_text = retention.strip().partition(":")
    if not sep:
        raise ValueError(f"retention {retention.strip()!r} is not 'precision:points'")
    precision = _seconds(precision_text)
    if points_text.strip().isdigit():
        return Resolution(precision, precision * int(points_text))
    return Resolution(precision, _seconds(points_text))


def _seconds(text: str) -> int:
    """A whisper duration: seconds, or a number and a unit (`10s`, `1min`, `7d`)."""
    match = _AMOUNT.match(text.strip().lower())
    if match is not None:
        number, unit = int(match.group(1)), match.group(2)
        if not unit:
            return number
        for name, size in _UNIT_SECONDS.items():
            if name.startswith(unit):
                return number * size
    raise ValueError(f"not a duration: {text.strip()!r}")


def rules_snippet(schemas: list[Schema], source: str) -> str:
    """YAML for `engine.rules`, in the file's order, ending with `default`."""
    lines = [f"# engine.rules from {source}", "engine:", "  rules:"]
    has_default = False
    for schema in schemas:
        catch_all = schema.pattern in _CATCH_ALL
        if has_default:
            lines.append(f"    # [{schema.name}] is never reached: an earlier section matches all")
            continue
        key = "default" if catch_all else json.dumps(schema.pattern, ensure_ascii=False)
        values = ", ".join(f'"{resolution}"' for resolution in schema.resolutions)
        lines.append(f"    {key}: [{values}]  # [{schema.name}]")
        has_default = catch_all
    if not has_default:
        values = ", ".join(f'"{resolution}"' for resolution in DEFAULT_RULES["default"])
        lines.append(f"    default: [{values}]  # no section matches every path: the built-in")
    return "\n".join(lines) + "\n"
