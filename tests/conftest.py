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
from tests.components import POSTGRES, closing_line
from tests.databases import PostgresDatabases, SqliteDatabases, Template, postgres_admin_dsn

ENGINES = ["sqlite", "postgresql"]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> Iterator[None]:
    """After pytest's own summary (so it is the last line but one): the components whose tests were
    skipped (tests/components.py)."""
    yield
    line = closing_line(terminalreporter.stats.get("skipped", []))
    if line is not None:
        terminalreporter.write_line(line, yellow=True, bold=True)


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
        POSTGRES.skip_or_fail(databases.unavailable_reason)


def _fresh_database(
    request: pytest.FixtureRequest,
    sqlite_databases: SqliteDatabases,
    postgres_databases: PostgresDatabases,
    template: Template,
) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_databases.fresh(template)
        return
    _postgres_or_skip(postgres_databases)
    url = postgres_databases.fresh(template)
    yield url
    postgres_databases.drop(url)


@pytest.fixture(params=ENGINES)
def database_url(
    request: pytest.FixtureRequest, sqlite_databases: SqliteDatabases, postgres_databases: PostgresDatabases
) -> Iterator[str]:
    """URL of a fresh database at the migration head, private to this test. A test that asks for
    `demo_directory` (or `routed`) gets the demo organisation (and routing table) already in it,
    copied from a template instead of seeded per test."""
    if "routed" in request.fixturenames:
        template = Template.ROUTED
    elif "demo_directory" in request.fixturenames:
        template = Template.DEMO
    else:
        template = Template.MIGRATED
    yield from _fresh_database(request, sqlite_databases, postgres_databases, template)


@pytest.fixture(params=ENGINES)
def empty_database_url(
    request: pytest.FixtureRequest, sqlite_databases: SqliteDatabases, postgres_databases: PostgresDatabases
) -> Iterator[str]:
    """URL of a fresh, empty database (no migrations applied), private to this test."""
    yield from _fresh_database(request, sqlite_databases, postgres_databases, Template.EMPTY)


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


# Identity and access. Signed-in callers for any test:
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
async def demo_directory(engine: AsyncEngine, settings: Settings) -> DemoDirectory:
    """The seeded demo organisation: `.account(Role.X | "username")` (password, TOTP), `.unit(code)`.
    Already in the database (see `database_url`); this only looks it up."""
    from referral_service.settings import DEVELOPMENT_SECRET_KEY
    from tests.identity.support import find_demo_directory

    # The template was seeded with the development secret: demo passwords and TOTP secrets derive from it.
    assert settings.secret_key == DEVELOPMENT_SECRET_KEY, "demo_directory needs the development secret"
    return await find_demo_directory(engine, settings.secret_key)


@pytest.fixture
def routed(demo_directory: DemoDirectory) -> DemoDirectory:
    """The demo organisation with its postcode routing table (both already in the database)."""
    return demo_directory


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
