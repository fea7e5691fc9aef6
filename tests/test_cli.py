"""The `referral-service` command line: help everywhere, migrate, and serve as the README runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner

from referral_service.cli import main


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", _commands(main), ids=lambda p: " ".join(p) or "root")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_migrate_brings_an_empty_database_to_head(empty_database_url: str, tmp_path: Path) -> None:
    env = {"REFERRAL_DATABASE_URL": empty_database_url, "REFERRAL_VAR_DIR": str(tmp_path / "var")}
    result = CliRunner().invoke(main, ["migrate"], env=env)
    assert result.exit_code == 0, result.output
    from referral_service.schema import head_revision

    assert f"database at revision {head_revision()}" in result.output


def test_bad_configuration_is_a_clear_error_not_a_traceback() -> None:
    result = CliRunner().invoke(main, ["migrate"], env={"REFERRAL_ENV": "production"})
    assert result.exit_code != 0
    assert "production requires explicitly configured" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["serve"], ["referrals", "escalate"], ["retention", "run"]])
def test_a_bad_domain_variable_is_a_clear_error_too(command: list[str], tmp_path: Path) -> None:
    environment = {"REFERRAL_ACCEPT_DEADLINE_HOURS": "0", "REFERRAL_VAR_DIR": str(tmp_path / "var")}
    result = CliRunner().invoke(main, command, env=environment)
    assert result.exit_code == 1
    assert "REFERRAL_ACCEPT_DEADLINE_HOURS is out of range" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "var").exists()  # refused before anything was created


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_on_the_embedded_default_answers_ready(tmp_path: Path) -> None:
    """What the README's run command does, on a fresh directory: migrate SQLite, serve, be ready."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFERRAL_")}
    env["REFERRAL_PORT"] = str(port)
    process = subprocess.Popen(
        [sys.executable, "-m", "referral_service.cli", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code
                if status == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        assert status == 200
        assert (tmp_path / "var" / "referral-service.sqlite3").exists()
        assert (tmp_path / "var").stat().st_mode & 0o077 == 0
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0].decode()
    assert "referral-service (development) on http://127.0.0.1:" in output


def test_serve_believes_forwarded_headers_only_from_configured_proxies() -> None:
    from referral_service.cli import server_options
    from referral_service.settings import SettingsError, load_settings

    assert server_options(load_settings({}))["proxy_headers"] is False
    configured = load_settings({"REFERRAL_TRUSTED_PROXIES": "10.0.0.5, 192.168.0.0/24 ,::1"})
    assert configured.trusted_proxies == ("10.0.0.5/32", "192.168.0.0/24", "::1/128")
    options = server_options(configured)
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == ["10.0.0.5/32", "192.168.0.0/24", "::1/128"]
    with pytest.raises(SettingsError, match="REFERRAL_TRUSTED_PROXIES") as caught:
        load_settings({"REFERRAL_TRUSTED_PROXIES": "proxy.internal"})
    assert "proxy.internal" not in str(caught.value)
