"""`referral-service users bind-oidc / unbind-oidc`: an administrator binds a pre-created user."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from referral_service.cli import main
from referral_service.db import create_database_engine
from referral_service.identity.oidc.models import ExternalIdentity
from referral_service.identity.roles import Role
from tests.identity.oidc.support import audit_events
from tests.identity.support import DemoDirectory
from tests.oidc.provider import OidcProvider
from tests.oidc.relying_party import write_providers_file


@pytest.fixture
def env(database_url: str, tmp_path: Path, oidc_provider: OidcProvider) -> dict[str, str]:
    return {
        "REFERRAL_DATABASE_URL": database_url,
        "REFERRAL_VAR_DIR": str(tmp_path / "var"),
        "REFERRAL_OIDC_PROVIDERS_FILE": str(write_providers_file(tmp_path, oidc_provider.issuer)),
    }


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["users", *args], env=env)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def bindings(url: str) -> int:
    async def count() -> int:
        engine = create_database_engine(url)
        try:
            async with engine.connect() as connection:
                return int(
                    (
                        await connection.execute(select(func.count()).select_from(ExternalIdentity))
                    ).scalar_one()
                )
        finally:
            await engine.dispose()

    return asyncio.run(count())


def test_bind_and_unbind_a_user(
    env: dict[str, str], database_url: str, demo_directory: DemoDirectory
) -> None:
    volunteer = demo_directory.account(Role.WR_VOLUNTEER).username

    code, output = invoke(env, "bind-oidc", volunteer, "weisser-ring", "volunteer-1")
    assert code == 0, output
    assert output.startswith(f"bound {volunteer}\t")
    assert "volunteer-1" not in output
    assert bindings(database_url) == 1
    other = demo_directory.account(Role.WR_BRANCH_LEAD).username
    assert invoke(env, "bind-oidc", other, "weisser-ring", "volunteer-1")[0] != 0  # one subject, one user
    assert invoke(env, "bind-oidc", volunteer, "unbekannt", "volunteer-1")[0] != 0

    assert invoke(env, "unbind-oidc", volunteer, "weisser-ring")[0] == 0
    assert bindings(database_url) == 0
    assert invoke(env, "unbind-oidc", volunteer, "weisser-ring")[0] != 0

    async def actions() -> list[str]:
        engine = create_database_engine(database_url)
        try:
            bound = await audit_events(engine, "identity:oidc:bind")
            unbound = await audit_events(engine, "identity:oidc:unbind")
        finally:
            await engine.dispose()
        return [details["provider"] for _, details in bound + unbound]

    assert asyncio.run(actions()) == ["weisser-ring", "weisser-ring"]
