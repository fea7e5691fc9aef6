"""Isolated, migrated test databases on SQLite and PostgreSQL.

The schema is built once per engine and test session by the migrations (never `create_all`); each test
then gets its own copy: a copied SQLite file, or a PostgreSQL database created from the migrated one as
a template. Tests commit for real, so concurrency and trigger behaviour is what production sees.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from referral_service import schema
from referral_service.db import create_database_engine

POSTGRES_URL_ENV = "REFERRAL_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "REFERRAL_TEST_REQUIRE_POSTGRES"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_required() -> bool:
    return os.environ.get(REQUIRE_POSTGRES_ENV, "").lower() in {"1", "true", "yes"}


def postgres_admin_dsn() -> str:
    return os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL).replace(
        "postgresql+asyncpg://", "postgresql://"
    )


def sqlalchemy_postgres_url(dsn: str, database: str) -> str:
    base, _, _ = dsn.rpartition("/")
    return base.replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + database


async def _migrate(url: str) -> None:
    engine = create_database_engine(url)
    try:
        await schema.upgrade(engine)
    finally:
        await engine.dispose()


@dataclass
class SqliteDatabases:
    root: Path
    _template: Path | None = None

    def _template_file(self) -> Path:
        if self._template is None:
            path = self.root / "template.sqlite3"
            asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
            self._template = path
        return self._template

    def fresh(self, *, migrated: bool = True) -> str:
        path = self.root / f"{uuid.uuid4().hex}.sqlite3"
        if migrated:
            shutil.copyfile(self._template_file(), path)
        return f"sqlite+aiosqlite:///{path}"


@dataclass
class PostgresDatabases:
    admin_dsn: str
    prefix: str = field(default_factory=lambda: f"rs_test_{os.getpid()}_")
    _template: str | None = None
    _created: list[str] = field(default_factory=list)
    unavailable_reason: str | None = None

    def check_available(self) -> str | None:
        async def probe() -> None:
            connection = await asyncpg.connect(self.admin_dsn, timeout=5)
            await connection.close()

        try:
            asyncio.run(probe())
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            return f"PostgreSQL at {self.admin_dsn} is unreachable ({type(exc).__name__})"
        return None

    def _execute(self, *statements: str) -> None:
        async def run() -> None:
            connection = await asyncpg.connect(self.admin_dsn, timeout=10)
            try:
                for statement in statements:
                    await connection.execute(statement)
            finally:
                await connection.close()

        asyncio.run(run())

    def _template_name(self) -> str:
        if self._template is None:
            name = self.prefix + "template"
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
            self._created.append(name)
            asyncio.run(_migrate(sqlalchemy_postgres_url(self.admin_dsn, name)))
            self._template = name
        return self._template

    def fresh(self, *, migrated: bool = True) -> str:
        name = self.prefix + uuid.uuid4().hex[:12]
        if migrated:
            self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template_name()}"')
        else:
            self._execute(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        return sqlalchemy_postgres_url(self.admin_dsn, name)

    def drop(self, url: str) -> None:
        name = url.rpartition("/")[2]
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self._created:
            self._created.remove(name)

    def drop_all(self) -> None:
        if self._created:
            self._execute(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in self._created))
            self._created.clear()
