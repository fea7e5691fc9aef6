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
    return load_settings({"REFERRAL_DATABASE_URL": database_url, "REFERRAL_VAR_DIR": str(tmp_path / "var")})


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as client:
        yield client
