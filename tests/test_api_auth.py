"""Who may ask the API and who did: credentials or a token when configured, HTTPS, and
the access log."""

from __future__ import annotations

import base64
import logging
import ssl
from pathlib import Path

import httpx
import pytest
import trio

from cyanite_py.config import ConfigError, parse_config
from tests.helpers import running_server, server_config


def basic(username: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


async def test_credentials_are_asked_of_every_request_but_ping() -> None:
    api = {"host": "127.0.0.1", "port": 0, "username": "grafana", "password": "s3cret"}
    async with running_server(server_config(api=api | {"token": "t0ken"})) as s:
        assert (await s.http.get("/ping")).status_code == 200
        refused = await s.http.get("/metrics/find", params={"query": "*"})
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic")
        assert refused.json() == {"message": "credentials required"}
        wrong = await s.http.get("/metrics/find", params={"query": "*"}, headers=basic("a", "b"))
        assert wrong.status_code == 401
        for headers in (basic("grafana", "s3cret"), {"Authorization": "Bearer t0ken"}):
            answered = await s.http.get("/metrics/find", params={"query": "*"}, headers=headers)
            assert answered.status_code == 200
        assert s.registry.total("api_requests_unauthorized") == 2


async def test_no_credentials_configured_means_none_asked() -> None:
    async with running_server(server_config()) as s:
        assert (await s.http.get("/metrics/find", params={"query": "*"})).status_code == 200


def test_a_username_without_a_password_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="username and password go together"):
        parse_config({"api": {"username": "grafana"}})


async def test_https_when_given_a_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    files = ["-keyout", str(key), "-out", str(cert)]
    await trio.run_process([*request, *subject, *files], capture_stdout=True, capture_stderr=True)
    api = {"host": "127.0.0.1", "port": 0, "certfile": str(cert), "keyfile": str(key)}
    async with running_server(server_config(api=api)) as s:
        trusted = ssl.create_default_context(cafile=str(cert))
        async with httpx.AsyncClient(verify=trusted) as client:
            answer = await client.get(f"https://127.0.0.1:{s.bound.api}/ping")
        assert answer.json() == {"response": "pong"}
        with pytest.raises(httpx.HTTPError):
            await s.http.get("/ping")


async def test_the_access_log_has_a_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="cyanite_py.access")
    async with running_server(
        server_config(api={"host": "127.0.0.1", "port": 0, "access_log": True})
    ) as s:
        await s.http.get("/metrics/find", params={"query": "x.*"})
    lines = [r.getMessage() for r in caplog.records if r.name == "cyanite_py.access"]
    assert any('GET /metrics/find "query=x.%2A" 200' in line for line in lines), lines
