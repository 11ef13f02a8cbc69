"""The files in examples/: the configuration is every default, the deployment files are
well-formed and agree with each other, and the dashboard graphs names the server emits."""

from __future__ import annotations

import configparser
import dataclasses
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import trio
import yaml

from cyanite_py.api.target import parse, path_expressions
from cyanite_py.config import Config, load_config, parse_config
from cyanite_py.index.elasticsearch_config import ElasticsearchIndexConfig
from cyanite_py.model import parse_duration
from cyanite_py.store.cassandra.config import CassandraStoreConfig
from tests.helpers import now, running_server, server_config

EXAMPLES = Path(__file__).parents[1] / "examples"
EXAMPLE_MARK = "# example"


def defaults_only(text: str) -> str:
    """The example configuration without the lines it marks as examples."""
    return "".join(line for line in text.splitlines(keepends=True) if EXAMPLE_MARK not in line)


def test_the_example_configuration_is_every_default() -> None:
    text = (EXAMPLES / "cyanite.yaml").read_text()
    assert parse_config(yaml.safe_load(defaults_only(text))) == Config()
    assert parse_config(yaml.safe_load(text)) != Config()  # the marked rule is in effect


def missing_keys(written: Any, default: Any, where: str) -> list[str]:
    """Every field of the `default` configuration (recursively) that `written` leaves out."""
    if not dataclasses.is_dataclass(default):
        return []
    missing = []
    for field in dataclasses.fields(default):
        key = f"{where}.{field.name}".lstrip(".")
        if field.name not in written:
            missing.append(key)
        else:
            missing += missing_keys(written[field.name], getattr(default, field.name), key)
    return missing


def test_the_example_configuration_writes_out_every_key() -> None:
    written = yaml.safe_load((EXAMPLES / "cyanite.yaml").read_text())
    config = Config()
    missing = missing_keys(written, config, "")  # sections; the list of inputs below
    inputs = {item["type"]: item for item in written["input"]}
    assert set(inputs) == {item.type for item in config.input}
    for default in config.input:
        missing += missing_keys(inputs[default.type], default, f"input.{default.type}")
    assert missing == []


def test_the_compose_file_runs_the_server_on_cassandra_and_elasticsearch() -> None:
    compose_dir = EXAMPLES / "container"
    compose = yaml.safe_load((compose_dir / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"cassandra", "elasticsearch", "cyanite", "grafana"}
    build = services["cyanite"]["build"]
    context = (compose_dir / build["context"]).resolve()
    assert (context / build["dockerfile"]).is_file()
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (compose_dir / source).exists(), volume

    mounted = services["cyanite"]["volumes"][0].split(":")
    assert services["cyanite"]["command"][-1] == mounted[1]
    config = load_config(compose_dir / mounted[0])
    assert isinstance(config.store, CassandraStoreConfig)
    assert config.store.cluster == ["cassandra"]
    assert isinstance(config.index, ElasticsearchIndexConfig)
    assert config.index.url.startswith("http://elasticsearch:")
    ports = {port.split(":")[0] for port in services["cyanite"]["ports"]}
    assert {"2003", "2004", "6343", "8080"} <= ports


def test_the_containerfile_copies_what_exists_and_runs_serve() -> None:
    root = EXAMPLES.parent
    lines = (EXAMPLES / "container" / "Containerfile").read_text().splitlines()
    copies = [line.split()[1:-1] for line in lines if line.startswith("COPY ")]
    assert copies
    for sources in copies:
        for source in sources:
            assert (root / source).exists(), source
    assert any(line.startswith("USER ") and "root" not in line for line in lines)
    [entry] = [line for line in lines if line.startswith("ENTRYPOINT")]
    [command] = [line for line in lines if line.startswith("CMD")]
    assert json.loads(entry.split(None, 1)[1]) == ["cyanite-py"]
    assert json.loads(command.split(None, 1)[1])[0] == "serve"


def test_grafana_provisioning_loads_the_dashboard_from_where_compose_mounts_it() -> None:
    grafana = EXAMPLES / "grafana"
    sources = yaml.safe_load((grafana / "provisioning/datasources/cyanite.yaml").read_text())
    [source] = sources["datasources"]
    assert source["type"] == "graphite"
    assert source["url"].endswith(":8080")
    dashboard = json.loads((grafana / "dashboards/cyanite-server.json").read_text())
    used = {panel["datasource"]["uid"] for panel in dashboard["panels"]}
    assert used == {source["uid"]}
    providers = yaml.safe_load((grafana / "provisioning/dashboards/cyanite.yaml").read_text())
    [provider] = providers["providers"]
    compose = yaml.safe_load((EXAMPLES / "container/compose.yaml").read_text())
    mounts = [volume.split(":")[1] for volume in compose["services"]["grafana"]["volumes"]]
    assert provider["options"]["path"] in mounts


def test_the_systemd_unit_runs_unprivileged_and_restarts_on_failure() -> None:
    unit = configparser.ConfigParser(interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    text = (EXAMPLES / "systemd/cyanite-py.service").read_text()
    unit.read_string(text)
    service = unit["Service"]
    assert service["User"] not in ("root", "0")
    assert service["Restart"] == "on-failure"
    assert int(service["LimitNOFILE"]) >= 4096
    assert service["RestartPreventExitStatus"] == "2"
    assert parse_duration(service["TimeoutStopSec"]) > Config().writer.shutdown_timeout
    assert "cyanite-py serve --config" in service["ExecStart"]
    assert "3 stopped with snapshots not written" in text


def test_the_relay_configuration_hashes_paths_over_two_servers() -> None:
    config = (EXAMPLES / "carbon-c-relay/cyanite-cluster.conf").read_text()
    assert "carbon_ch" in config
    relay = shutil.which("carbon-c-relay")
    if relay is None:
        return  # the syntax check needs Debian's carbon-c-relay (scripts/test installs it)
    paths = [f"web{number:02d}.cpu.user" for number in range(20)]
    result = subprocess.run(
        [relay, "-t", "-f", "cyanite-cluster.conf"],
        cwd=EXAMPLES / "carbon-c-relay",
        input="".join(f"{path} 1 1700000000\n" for path in paths),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    routes = result.stdout.split("carbon_ch(cyanite)")[1:]
    assert len(routes) == len(paths)
    servers = {route.split()[0] for route in routes}
    assert servers == {"cyanite-1:2003", "cyanite-2:2003"}  # 20 paths reach both


def dashboard_targets() -> list[str]:
    dashboard = json.loads((EXAMPLES / "grafana/dashboards/cyanite-server.json").read_text())
    [variable] = dashboard["templating"]["list"]
    assert variable["name"] == "host"
    return [target["target"] for panel in dashboard["panels"] for target in panel["targets"]]


async def test_every_dashboard_target_graphs_what_the_server_emits() -> None:
    targets = [target.replace("$host", "*") for target in dashboard_targets()]
    paths = {path for target in targets for path in path_expressions(parse(target))}
    assert all(path.startswith("cyanite.*.") for path in paths)
    config = server_config(reporter={"interval": 1})
    async with running_server(config) as server:
        await server.send_lines(f"web01.cpu.user 1 {now()}\nnot a line\n")
        await server.until("input_points_received", 1)
        await server.http.get("/ping")
        unmatched = paths
        with trio.fail_after(60):
            while unmatched:
                await trio.sleep(0.2)
                unmatched = {path for path in unmatched if not await expands(server, path)}
        for target in targets:
            response = await server.http.get(
                "/render", params={"target": target, "from": "-5min", "format": "json"}
            )
            assert response.status_code == 200, (target, response.text)
            assert response.json(), target


async def expands(server: Any, path: str) -> bool:
    response = await server.http.get("/metrics/expand", params={"query": path, "leavesOnly": 1})
    return bool(response.json()["results"])
