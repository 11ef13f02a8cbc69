"""Configuration: defaults, Cyanite-style keys, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from cyanite_py.cli import main
from cyanite_py.config import Config, ConfigError, load_config, parse_config
from cyanite_py.model import Resolution

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_the_defaults_serve_one_machine() -> None:
    config = Config()
    assert [(i.type, i.port) for i in config.input][:2] == [("carbon", 2003), ("pickle", 2004)]
    assert config.api.port == 8080
    assert config.store.type == "sqlite"
    assert config.index.type == "memory"


def test_a_missing_file_or_empty_sections_mean_the_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path / "absent.yaml") == Config()
    empty = tmp_path / "empty.yaml"
    empty.write_text("store:\napi:\n")
    assert load_config(empty) == Config()


def test_cyanite_style_rules_and_resolutions() -> None:
    config = parse_config(
        {
            "engine": {"rules": {r"^web.*\.cpu": ["5s:1h", "1m:7d"], "default": ["10s:1d"]}},
            "drift": {"grace": "30s", "max_future": "1h"},
        }
    )
    assert config.engine.rules[r"^web.*\.cpu"] == [Resolution(5, 3600), Resolution(60, 604800)]
    assert (config.drift.grace, config.drift.max_future) == (30, 3600)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"api": {"prot": 8080}}, "api.prot"),
        ({"input": [{"type": "carbon", "port": "x"}]}, "input.0.port"),
        ({"input": [{"type": "carrier"}]}, "input.0"),
        ({"engine": {"rules": {"default": ["10s"]}}}, "engine.rules.default.0"),
        ({"engine": {"rules": {"default": ["1d:10s"]}}}, "engine.rules.default.0"),
        ({"store": {"type": "sqlite", "pth": "x"}}, "store.pth"),
        ({"logging": {"level": "loud"}}, "logging.level"),
        ({"bogus": {}}, "bogus"),
    ],
)
def test_errors_name_the_key(data: dict[str, object], where: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(data, "cyanite.yaml")
    assert f"cyanite.yaml: {where}:" in str(raised.value)


def test_every_example_configuration_is_valid() -> None:
    examples = sorted(EXAMPLES.glob("*.yaml"))
    assert examples
    for example in examples:
        load_config(example)


def test_check_config_says_what_is_wrong_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("api: {port: eighty}\n")
    assert main(["check-config", str(bad)]) == 2
    assert "api.port" in capsys.readouterr().err
    good = tmp_path / "good.yaml"
    good.write_text("api: {port: 8081}\n")
    assert main(["check-config", str(good)]) == 0
    assert main(["check-config", str(tmp_path / "missing.yaml")]) == 2


def test_yaml_syntax_errors_are_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("api: {port: [\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(broken)


def test_schema_prints_the_cassandra_schema_with_the_configured_keyspace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "cassandra.yaml"
    config.write_text("store: {type: cassandra, keyspace: metrics_prod, replication_factor: 3}\n")
    assert main(["schema", "cassandra", "--config", str(config)]) == 0
    printed = capsys.readouterr().out
    assert "CREATE KEYSPACE IF NOT EXISTS metrics_prod" in printed
    assert "'replication_factor': 3" in printed
    assert "TimeWindowCompactionStrategy" in printed
