"""YAML configuration → one typed, validated `Config`, keyed like Cyanite's.

A missing file or section means the documented defaults; an unknown key or a bad value
raises `ConfigError` naming the key's path (`input.0.port: ...`), so start-up stops with
a message that says what to fix.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, TypeAdapter, ValidationError

from cyanite_py.api.config import ApiConfig
from cyanite_py.engine.rules import RULE_FORMS, DriftConfig, EngineConfig
from cyanite_py.index.elasticsearch_config import ElasticsearchIndexConfig
from cyanite_py.index.memory import MemoryIndexConfig
from cyanite_py.inputs.carbon import CarbonInputConfig
from cyanite_py.inputs.pickle import PickleInputConfig
from cyanite_py.inputs.sflow import SflowInputConfig
from cyanite_py.reporter import ReporterConfig
from cyanite_py.settings import Duration, settings
from cyanite_py.store.cassandra.config import CassandraStoreConfig
from cyanite_py.store.memory import MemoryStoreConfig
from cyanite_py.store.sqlite.config import SqliteStoreConfig
from cyanite_py.store.writer import StoreWriterConfig

log = logging.getLogger(__name__)

InputConfig = Annotated[
    CarbonInputConfig | PickleInputConfig | SflowInputConfig,
    Field(discriminator="type"),
]
StoreConfig = Annotated[
    SqliteStoreConfig | MemoryStoreConfig | CassandraStoreConfig,
    Field(discriminator="type"),
]
IndexConfig = Annotated[
    MemoryIndexConfig | ElasticsearchIndexConfig,
    Field(discriminator="type"),
]


def default_inputs() -> list[InputConfig]:
    """Carbon plaintext on 2003, pickle on 2004 and sFlow on 6343."""
    return [CarbonInputConfig(), PickleInputConfig(), SflowInputConfig()]


@settings
class LoggingConfig:
    """`level` of the log; `interval` is how often one summary line says what moved
    (points in, snapshots written, series, the writer's buffer, drops); 0 turns it off."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    interval: Duration = 60


@settings
class Config:
    """The whole server's configuration; every section has its documented defaults."""

    engine: EngineConfig = field(default_factory=EngineConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    input: list[InputConfig] = field(default_factory=default_inputs)
    api: ApiConfig = field(default_factory=ApiConfig)
    store: StoreConfig = field(default_factory=SqliteStoreConfig)
    writer: StoreWriterConfig = field(default_factory=StoreWriterConfig)
    index: IndexConfig = field(default_factory=MemoryIndexConfig)
    reporter: ReporterConfig = field(default_factory=ReporterConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)


class ConfigError(Exception):
    """The configuration cannot be used; the message names each bad key and why."""


_ADAPTER = TypeAdapter(Config)


def parse_config(data: Any, source: str = "configuration") -> Config:
    """Validate already-parsed YAML (a mapping, or None for all defaults)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections")
    cleaned = {key: value for key, value in data.items() if value is not None}
    try:
        config = _ADAPTER.validate_python(cleaned)
    except ValidationError as error:
        raise ConfigError(_describe(error, source)) from None
    clashes = [f"{source}: {clash}" for clash in _port_clashes(config)]
    if clashes:
        raise ConfigError("\n".join(clashes))
    return config


def load_config(path: Path | None) -> Config:
    """Read and validate a YAML file; no path, or a missing file, gives the defaults."""
    if path is None:
        return Config()
    if not path.exists():
        log.warning("no configuration file at %s: using the defaults", path)
        return Config()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    return parse_config(data, str(path))


def require_extras(config: Config, source: str = "configuration") -> None:
    """Stop with one line naming the extra to install when a configured back end's client
    library is missing (they are optional: `pip install 'cyanite-py[cassandra]'`)."""
    needs: list[tuple[str, str, tuple[str, ...]]] = []
    if isinstance(config.store, CassandraStoreConfig):
        needs.append(("store.type", "cassandra", ("cassandra",)))
    if isinstance(config.index, ElasticsearchIndexConfig):
        needs.append(("index.type", "elasticsearch", ("elasticsearch", "httpx")))
    missing = [
        f"{source}: {key}: {extra} needs its client library: pip install 'cyanite-py[{extra}]'"
        for key, extra, modules in needs
        if any(importlib.util.find_spec(module) is None for module in modules)
    ]
    if missing:
        raise ConfigError("\n".join(missing))


_WILDCARDS = {"", "0.0.0.0", "::"}


def _listeners(config: Config) -> Iterator[tuple[str, str, str, int]]:
    """`(key, protocol, host, port)` of every socket the server binds."""
    yield "api.port", "TCP", config.api.host, config.api.port
    for position, item in enumerate(config.input):
        key = f"input.{position}.port"
        if item.type in ("carbon", "pickle"):
            yield key, "TCP", item.host, item.port
        if item.type == "sflow" or (isinstance(item, CarbonInputConfig) and item.udp):
            yield key, "UDP", item.host, item.port


def _port_clashes(config: Config) -> Iterator[str]:
    """One line per listener whose protocol, port and address another one already has
    (port 0 picks a free port, so it never clashes)."""
    seen: list[tuple[str, str, str, int]] = []
    for key, protocol, host, port in _listeners(config):
        for other_key, other_protocol, other_host, other_port in seen:
            same_address = host == other_host or {host, other_host} & _WILDCARDS
            if port and (protocol, port) == (other_protocol, other_port) and same_address:
                owner = other_key.removesuffix(".port")
                yield f"{key}: {protocol} port {port} is already used by {owner}"
                break
        seen.append((key, protocol, host, port))


def _describe(error: ValidationError, source: str) -> str:
    lines = []
    for problem in error.errors():
        where = ".".join(str(part) for part in _user_path(problem["loc"]))
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{source}: {where or '(top level)'}: {message}")
    return "\n".join(lines)


def _user_path(loc: tuple[int | str, ...]) -> list[int | str]:
    """The key path as the user wrote it: without the union member pydantic tried
    (`input.0.carbon.port` → `input.0.port`, `store.sqlite.path` → `store.path`,
    `engine.rules.x.mapping.aggregation` → `engine.rules.x.aggregation`), and without the
    marker of a mapping's key (`engine.rules.[x.[key]` → `engine.rules.[x`)."""
    tagged = {1} if loc[:1] in (("store",), ("index",)) else set()
    if loc[:1] == ("input",) and len(loc) > 2:
        tagged = {2}
    if loc[:2] == ("engine", "rules") and len(loc) > 3 and loc[3] in RULE_FORMS:
        tagged = {3}
    return [part for position, part in enumerate(loc) if position not in tagged and part != "[key]"]
