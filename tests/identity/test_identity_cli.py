"""`referral-service users ...` and `referral-service demo` against real databases."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

import referral_service.identity.cli as identity_cli
from referral_service.audit.models import AuditEvent
from referral_service.cli import main
from referral_service.db import create_database_engine
from referral_service.identity import service, totp
from referral_service.identity.demo import demo_logins, demo_totp_secret
from referral_service.identity.models import User
from referral_service.identity.roles import Role, UnitKind
from referral_service.settings import DEVELOPMENT_SECRET_KEY, load_settings
from tests.identity.support import FakeClock, test_identity_config
from tests.test_settings import OPERATOR


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    # The CLI hashes at production cost; tests use the cheapest.
    monkeypatch.setattr(identity_cli, "IdentityConfig", lambda: test_identity_config(FakeClock()))
    return {"REFERRAL_DATABASE_URL": database_url, "REFERRAL_VAR_DIR": str(tmp_path / "var")}


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(main, list(args), env=env, input=stdin)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.output


def fail(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(main, list(args), env=env, input=stdin)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    return result.output


def users_in(url: str) -> dict[str, User]:
    async def read() -> dict[str, User]:
        engine = create_database_engine(url)
        try:
            async with AsyncSession(engine) as session:
                return {user.username: user for user in (await session.exec(select(User))).scalars()}  # type: ignore[call-overload]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_demo_seeds_once_and_prints_the_logins(env: dict[str, str]) -> None:
    output = run(env, "demo")
    for login in demo_logins(DEVELOPMENT_SECRET_KEY):
        assert login.username in output
        assert login.password in output
        if login.totp_secret:
            assert login.totp_secret in output
    assert run(env, "demo") == output  # idempotent
    assert len(users_in(env["REFERRAL_DATABASE_URL"])) == len(demo_logins(DEVELOPMENT_SECRET_KEY))


def test_demo_and_totp_code_are_refused_in_production(env: dict[str, str], tmp_path: Path) -> None:
    production = env | {
        "REFERRAL_ENV": "production",
        "REFERRAL_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test",
        "REFERRAL_SECRET_KEY": base64.b64encode(b"p" * 32).decode(),
        "REFERRAL_KEYRING_PATH": str(tmp_path / "keyring.json"),
        "REFERRAL_AUDIT_SIGNING_KEY_PATH": str(tmp_path / "audit.pem"),
        **OPERATOR,
    }
    assert "refused in production" in fail(production, "demo")
    assert "refused in production" in fail(production, "users", "totp-code", "admin.sachsen")


def test_totp_code_prints_the_current_code(env: dict[str, str]) -> None:
    run(env, "demo")
    code = run(env, "users", "totp-code", "admin.sachsen").strip()
    secret = demo_totp_secret(DEVELOPMENT_SECRET_KEY, "admin.sachsen")
    assert code in {totp.code_at_step(secret, totp.time_step(FakeClock().now()) + d) for d in (-1, 0, 1)}
    assert "no second factor" in fail(env, "users", "totp-code", "officer.dresden")


def test_user_administration_from_the_command_line(env: dict[str, str]) -> None:
    run(env, "demo")
    password = "Kommandozeile-Passwort-42"
    created = run(
        env,
        "users", "create", "Volunteer.Chemnitz",
        "--display-name", "Ehrenamt Chemnitz",
        "--unit", "wr-chemnitz",
        "--role", "wr_volunteer",
        "--password-stdin",
        stdin=password + "\n",
    )  # fmt: skip
    assert "created volunteer.chemnitz\tactive\twr_volunteer" in created
    assert password not in created

    assert "volunteer.chemnitz\tactive\twr_volunteer" in run(env, "users", "list", "--unit", "wr-chemnitz")
    assert "wr_branch_lead,wr_volunteer" in run(env, "users", "grant", "volunteer.chemnitz", "wr_branch_lead")
    assert "\twr_volunteer\t" in run(env, "users", "revoke", "volunteer.chemnitz", "wr_branch_lead")
    assert "disabled" in run(env, "users", "disable", "volunteer.chemnitz")
    assert "\tactive\t" in run(env, "users", "enable", "volunteer.chemnitz")
    reset = run(
        env,
        "users",
        "reset-password",
        "volunteer.chemnitz",
        "--password-stdin",
        stdin="Noch-ein-Passwort-43\n",
    )
    assert "password reset" in reset
    assert "Noch-ein-Passwort-43" not in reset

    lead = run(
        env,
        "users", "create", "lead.zwei",
        "--display-name", "Leitung",
        "--unit", "zbs-sn",
        "--role", "complaints_lead",
        "--password-stdin",
        stdin=password + "\n",
    )  # fmt: skip
    assert "TOTP secret (shown once): " in lead
    assert "otpauth://totp/" in lead

    assert set(users_in(env["REFERRAL_DATABASE_URL"])) >= {"volunteer.chemnitz", "lead.zwei"}


def test_errors_are_clear_messages(env: dict[str, str]) -> None:
    run(env, "demo")
    assert "no unit with that code" in fail(
        env, "users", "create", "x.y", "--display-name", "X", "--unit", "nowhere", "--role", "admin",
        "--password-stdin", stdin="long enough password\n",
    )  # fmt: skip
    weak = fail(
        env, "users", "create", "x.y", "--display-name", "X", "--unit", "sn", "--role", "admin",
        "--password-stdin", stdin="short\n",
    )  # fmt: skip
    assert "at least 12 characters" in weak
    assert "User not found" in fail(env, "users", "disable", "no.such.user")
    assert "roles must all come from one area" in fail(env, "users", "grant", "officer.dresden", "admin")


def test_cli_changes_are_audited_as_the_system(env: dict[str, str]) -> None:
    run(env, "demo")
    run(env, "users", "disable", "officer.leipzig")

    async def actions() -> list[tuple[str, str]]:
        engine = create_database_engine(env["REFERRAL_DATABASE_URL"])
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    select(AuditEvent.action, AuditEvent.actor_kind).order_by(AuditEvent.id)
                )  # type: ignore[arg-type]
                return [(row[0], row[1]) for row in rows]
        finally:
            await engine.dispose()

    assert asyncio.run(actions())[-1] == ("identity:user:disable", "system")


def test_serve_seeds_only_an_empty_directory(env: dict[str, str]) -> None:
    settings = load_settings(env)
    first = identity_cli.seed_and_describe(settings, only_if_empty=True)
    assert "admin.sachsen" in first
    # Once anything exists, start-up seeds nothing new and just prints what is there.
    run(env, "users", "disable", "officer.dresden")
    assert identity_cli.seed_and_describe(settings, only_if_empty=True) == first


def test_serve_does_not_seed_into_a_directory_with_other_users(env: dict[str, str]) -> None:
    async def create_unit_and_user() -> None:
        engine = create_database_engine(env["REFERRAL_DATABASE_URL"])
        try:
            async with AsyncSession(engine) as session:
                config = test_identity_config(FakeClock())
                unit = await service.create_unit(
                    session, None, code="th", name="Freistaat Thüringen", kind=UnitKind.STATE, parent_id=None,
                    config=config, audit={},
                )  # fmt: skip
                await service.create_user(
                    session, None, username="admin.th", display_name="Administration", unit_id=unit.id,
                    roles=[Role.ADMIN], password="a thuringian passphrase", config=config,
                    secret=DEVELOPMENT_SECRET_KEY, audit={},
                )  # fmt: skip
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(create_unit_and_user())
    described = identity_cli.seed_and_describe(load_settings(env), only_if_empty=True)
    assert "No demo users" in described
    assert set(users_in(env["REFERRAL_DATABASE_URL"])) == {"admin.th"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_in_development_prints_the_demo_logins(tmp_path: Path) -> None:
    """The README's run command: a fresh directory gets the demo organisation and shows its logins."""
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("REFERRAL_")}
    environment["REFERRAL_PORT"] = str(port)
    process = subprocess.Popen(
        [sys.executable, "-m", "referral_service.cli", "serve"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and process.poll() is None and status != 200:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code
            except httpx.TransportError:
                time.sleep(0.05)
        assert status == 200
        login = demo_logins(DEVELOPMENT_SECRET_KEY)[0]
        token = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/token",
            json={"username": login.username, "password": login.password},
            timeout=10,
        )
        assert token.status_code == 200, token.text
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0].decode()
    assert "Demo logins" in output
    for demo in demo_logins(DEVELOPMENT_SECRET_KEY):
        assert f"{demo.username}" in output
        assert demo.password in output
