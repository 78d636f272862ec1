"""Offline checks of the deployment files: Dockerfile, compose, systemd units, .env.example."""

from __future__ import annotations

import configparser
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from dockerfile_parse import DockerfileParser  # type: ignore[import-untyped]
from ruamel.yaml import YAML

from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
VENV_RELAIS = "/opt/relais/.venv/bin/relais"
HARDENING = {
    "User": "relais",
    "StateDirectory": "relais",
    "WorkingDirectory": "/opt/relais",
    "EnvironmentFile": "/etc/relais/relais.env",
    "ExecStart": f"{VENV_RELAIS} run",
    "ExecReload": "/bin/kill -HUP $MAINPID",
    "Restart": "on-failure",
    "RestartSec": "5",
    "TimeoutStopSec": "30",
    "KillSignal": "SIGTERM",
    "ProtectSystem": "strict",
    "ProtectHome": "true",
    "PrivateTmp": "true",
    "NoNewPrivileges": "true",
    "ProtectKernelTunables": "true",
    "ProtectKernelModules": "true",
    "ProtectControlGroups": "true",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "LockPersonality": "true",
    "MemoryDenyWriteExecute": "true",
    "SystemCallFilter": "@system-service",
    "ReadWritePaths": "/var/lib/relais",
}


# --- Dockerfile ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    data = (DEPLOY / "Dockerfile").read_bytes()
    return DockerfileParser(fileobj=io.BytesIO(data))


def _instructions(parser: DockerfileParser, name: str) -> list[str]:
    structure: list[dict[str, Any]] = parser.structure
    return [str(item["value"]) for item in structure if item["instruction"] == name]


def _exec_form(value: str) -> list[str]:
    parsed = json.loads(value)
    assert isinstance(parsed, list), f"not the exec (JSON) form: {value}"
    return [str(part) for part in parsed]


def test_dockerfile_base_image_is_slim_python(dockerfile: DockerfileParser) -> None:
    assert re.fullmatch(r"python:3\.1[12]-slim(@sha256:[0-9a-f]{64})?", str(dockerfile.baseimage))


def test_dockerfile_runs_as_non_root(dockerfile: DockerfileParser) -> None:
    users = _instructions(dockerfile, "USER")
    assert users, "no USER instruction"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_dockerfile_installs_the_package_and_compiles_catalogs(
    dockerfile: DockerfileParser,
) -> None:
    runs = " ".join(_instructions(dockerfile, "RUN"))
    assert re.search(r"pip install .*--no-cache-dir", runs)
    assert re.search(r"(pybabel|babel\.messages\.frontend) compile -d locales -D relais", runs)
    copied = " ".join(_instructions(dockerfile, "COPY"))
    for needed in ("bot/", "locales/", "conversations/", "pyproject.toml"):
        assert needed in copied


def test_dockerfile_entrypoint_healthcheck_and_signals(dockerfile: DockerfileParser) -> None:
    (entrypoint,) = _instructions(dockerfile, "ENTRYPOINT")
    assert _exec_form(entrypoint) == ["relais"]
    (cmd,) = _instructions(dockerfile, "CMD")
    assert _exec_form(cmd) == ["run"]
    (healthcheck,) = _instructions(dockerfile, "HEALTHCHECK")
    assert "--interval=" in healthcheck
    assert "--timeout=" in healthcheck
    assert re.search(r"relais\W+doctor\W+--quick", healthcheck)
    assert _instructions(dockerfile, "STOPSIGNAL") == ["SIGTERM"]
    assert "/data" in " ".join(_instructions(dockerfile, "VOLUME"))
    env = dockerfile.envs
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["RELAIS_DATABASE"] == "/data/relais.db"
    assert env["RELAIS_CONTENT_DIR"] == "/app/conversations"


# --- Docker Compose and Caddy ----------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = YAML(typ="safe").load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_compose_relais_service(compose: dict[str, Any]) -> None:
    relais = compose["services"]["relais"]
    assert relais["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    env_file = relais["env_file"]
    assert "../.env" in ([env_file] if isinstance(env_file, str) else env_file)
    assert "relais-data:/data" in relais["volumes"]
    assert "relais-data" in compose["volumes"]
    assert relais["restart"] == "unless-stopped"
    assert relais["stop_grace_period"] == "30s"
    assert "profiles" not in relais, "the bot must start without naming a profile"
    assert (DEPLOY / relais["build"]["dockerfile"].removeprefix("deploy/")).is_file()


def test_compose_webhook_profile(compose: dict[str, Any]) -> None:
    services = compose["services"]
    in_profile = [name for name, svc in services.items() if "webhook" in svc.get("profiles", [])]
    assert in_profile == ["caddy"]
    caddy = services["caddy"]
    assert any(str(port).startswith("443:443") for port in caddy["ports"])
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    env = {key: str(value) for key, value in services["relais"]["environment"].items()}
    assert env["RELAIS_WEBHOOK_LISTEN"] == "0.0.0.0"
    assert env["RELAIS_WEBHOOK_PORT"] == "8443"


def test_caddyfile_proxies_the_webhook_to_the_bot() -> None:
    text = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    assert "{$RELAIS_PUBLIC_HOST}" in text
    assert "reverse_proxy relais:8443" in text
    assert text.count("{") == text.count("}")


# --- .env.example ----------------------------------------------------------------------------


def test_env_example_lists_every_setting() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^#?\s*(RELAIS_[A-Z0-9_]+)=", text, flags=re.MULTILINE))
    expected = {f"RELAIS_{name.upper()}" for name in Settings.model_fields}
    expected |= {"RELAIS_LOG_FORMAT", "RELAIS_RETENTION_DAYS"}
    assert expected <= named, f"missing from .env.example: {sorted(expected - named)}"


def test_env_example_is_loadable_as_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Copied unchanged to .env, the template must not stop the bot's commands on a bad value.
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    monkeypatch.chdir(tmp_path)
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"RELAIS_{name.upper()}", raising=False)
    Settings()


# --- systemd ---------------------------------------------------------------------------------


def _unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / name).read_text(encoding="utf-8"), source=name)
    return parser


def test_service_unit_is_hardened() -> None:
    unit = _unit("relais.service")
    service = unit["Service"]
    for key, value in HARDENING.items():
        assert service.get(key) == value, f"{key}={service.get(key)!r}, expected {value!r}"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_backup_timer_and_service() -> None:
    service = _unit("relais-backup.service")["Service"]
    assert service["Type"] == "oneshot"
    assert service["User"] == "relais"
    command = service["ExecStart"]
    assert f"{VENV_RELAIS} backup /var/lib/relais/backups/" in command.replace('"', "")
    # A lone % is a systemd specifier: a date format needs %% in the unit file.
    assert not re.search(r"(?<!%)%[YmdHMS]", command)
    timer = _unit("relais-backup.timer")
    assert timer["Timer"]["OnCalendar"]
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not found")
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    # The programs live in /opt/relais on a server: point the copies at a stand-in.
    stand_in = tmp_path / "relais"
    stand_in.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    stand_in.chmod(0o755)
    names = ["relais.service", "relais-backup.service", "relais-backup.timer"]
    for name in names:
        text = (DEPLOY / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace(VENV_RELAIS, str(stand_in)), encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(tmp_path / name) for name in names)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
