"""Shared fixtures. `database_url` runs a test once on SQLite and once on PostgreSQL.

PostgreSQL comes from REFERRAL_TEST_POSTGRES_URL (default: the local `test` database). When it is
unreachable its tests skip, unless REFERRAL_TEST_REQUIRE_POSTGRES=1 (set by CI), which makes them fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.app import create_app
from referral_service.db import create_database_engine
from referral_service.settings import Settings, load_settings
from tests.databases import PostgresDatabases, SqliteDatabases, postgres_admin_dsn, postgres_required

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory: pytest.TempPathFactory) -> SqliteDatabases:
    return SqliteDatabases(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(postgres_admin_dsn())
    databases.unavailable_reason = databases.check_available()
    yield databases
    if databases.unavailable_reason is None:
        databases.drop_all()


def _postgres_or_skip(databases: PostgresDatabases) -> None:
    if databases.unavailable_reason is not None:
        if postgres_required():
            pytest.fail(f"{databases.unavailable_reason}; REFERRAL_TEST_REQUIRE_POSTGRES is set")
        pytest.skip(databases.unavailable_reason)


def _fresh_database(
    request: pytest.FixtureRequest,
    sqlite_databases: SqliteDatabases,
    postgres_databases: PostgresDatabases,
    *,
    migrated: bool,
) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_databases.fresh(migrated=migrated)
        return
    _postgres_or_skip(postgres_databases)
    url = postgres_databases.fresh(migrated=migrated)
    yield url
    postgres_databases.drop(url)


@pytest.fixture(params=ENGINES)
def database_url(
    request: pytest.FixtureRequest, sqlite_databases: SqliteDatabases, postgres_databases: PostgresDatabases
) -> Iterator[str]:
    """URL of a fresh database at the migration head, private to this test."""
    yield from _fresh_database(request, sqlite_databases, postgres_databases, migrated=True)


@pytest.fixture(params=ENGINES)
def empty_database_url(
    request: pytest.FixtureRequest, sqlite_databases: SqliteDatabases, postgres_databases: PostgresDatabases
) -> Iterator[str]:
    """URL of a fresh, empty database (no migrations applied), private to this test."""
    yield from _fresh_database(request, sqlite_databases, postgres_databases, migrated=False)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_database_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Without background jobs: tests run the jobs' work themselves (sequencing, checkpoints,
    escalation, retention) when they need it; a job loop racing them at start-up makes results a
    matter of timing. The jobs themselves are tested with settings of their own (tests/test_jobs.py,
    tests/audit/test_log.py)."""
    return load_settings(
        {
            "REFERRAL_DATABASE_URL": database_url,
            "REFERRAL_VAR_DIR": str(tmp_path / "var"),
            "REFERRAL_BACKGROUND_JOBS": "false",
        }
    )


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as client:
        yield client


# Identity and access (issue 4). Signed-in callers for any test:
#   async def test_x(client, auth_headers):
#       response = await client.get("/api/v1/...", headers=await auth_headers(Role.POLICE_OFFICER))
# `auth_headers` seeds the Saxon demo organisation (`demo_directory`: one user per role, plus a second
# officer, volunteer and branch lead in Leipzig) and mints a bearer token straight into the database.
# Authentication tests use `https_client` (a Secure cookie needs https) on `identity_app`, whose
# clock (`identity_clock`) the test moves by hand.

from typing import TYPE_CHECKING  # noqa: E402 - appended section, see above

if TYPE_CHECKING:
    from referral_service.identity.config import IdentityConfig
    from referral_service.identity.roles import Role
    from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock


@pytest.fixture
def identity_clock() -> FakeClock:
    from tests.identity.support import FakeClock

    return FakeClock()


@pytest.fixture
def identity_config(identity_clock: FakeClock) -> IdentityConfig:
    """Production policy, but with `identity_clock` and the cheapest Argon2 cost."""
    from tests.identity.support import test_identity_config

    return test_identity_config(identity_clock)


@pytest.fixture
def identity_app(settings: Settings, identity_config: IdentityConfig) -> Litestar:
    return create_app(settings, identity_config=identity_config)


@pytest.fixture
async def https_client(identity_app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=identity_app, base_url="https://testserver.local") as client:
        yield client


@pytest.fixture
async def demo_directory(
    engine: AsyncEngine, settings: Settings, identity_config: IdentityConfig
) -> DemoDirectory:
    """The seeded demo organisation: `.account(Role.X | "username")` (password, TOTP), `.unit(code)`."""
    from tests.identity.support import seed_demo_directory

    return await seed_demo_directory(engine, identity_config, settings.secret_key)


@pytest.fixture
def auth_headers(
    engine: AsyncEngine, demo_directory: DemoDirectory, identity_config: IdentityConfig
) -> AuthHeaders:
    """`await auth_headers(Role.X)` or `await auth_headers("officer.leipzig")`: bearer headers for that
    demo user (a fresh token each call; valid on `app`, `identity_app` and their clients)."""
    from tests.identity.support import mint_token

    async def headers_for(who: Role | str) -> dict[str, str]:
        token = await mint_token(engine, demo_directory.account(who).user_id, identity_config)
        return {"Authorization": f"Bearer {token}"}

    return headers_for
