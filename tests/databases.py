"""Isolated, migrated test databases on SQLite and PostgreSQL.

The schema is built once per engine and test session (per xdist worker) by the migrations (never
`create_all`), into up to three templates: the bare schema, the schema with the Saxon demo organisation,
and that with the demo postcode routing table. Each template is built from the one before it, when a
test first needs it. Each test then gets its own copy: a copied SQLite file, or a PostgreSQL database
created from the template. Tests commit for real, so concurrency and trigger behaviour is what
production sees.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from referral_service import schema
from referral_service.db import create_database_engine

T = TypeVar("T")

POSTGRES_URL_ENV = "REFERRAL_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_admin_dsn() -> str:
    return os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL).replace(
        "postgresql+asyncpg://", "postgresql://"
    )


def sqlalchemy_postgres_url(dsn: str, database: str) -> str:
    base, _, _ = dsn.rpartition("/")
    return base.replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + database


class Template(StrEnum):
    """What a fresh test database starts with; each builds on the one before."""

    EMPTY = "empty"  # not even the schema
    MIGRATED = "migrated"
    DEMO = "demo"  # + the demo organisation (tests asking for `demo_directory`)
    ROUTED = "routed"  # + the demo postcode routing table (tests asking for `routed`)

    @property
    def base(self) -> Template | None:
        order = list(Template)
        return order[order.index(self) - 1] if self is not Template.EMPTY else None


async def _build(url: str, template: Template) -> None:
    """Turn a copy of `template.base` at `url` into `template`."""
    from tests.identity.support import seed_demo_organisation, seed_demo_routing

    engine = create_database_engine(url)
    try:
        if template is Template.MIGRATED:
            await schema.upgrade(engine)
        elif template is Template.DEMO:
            await seed_demo_organisation(engine)
        elif template is Template.ROUTED:
            await seed_demo_routing(engine)
    finally:
        await engine.dispose()


@dataclass
class SqliteDatabases:
    root: Path
    _templates: dict[Template, Path] = field(default_factory=dict)

    def _template_file(self, template: Template) -> Path:
        if template not in self._templates:
            path = self.root / f"template-{template}.sqlite3"
            base = template.base
            if base is not None and base is not Template.EMPTY:
                shutil.copyfile(self._template_file(base), path)
            asyncio.run(_build(f"sqlite+aiosqlite:///{path}", template))
            self._templates[template] = path
        return self._templates[template]

    def fresh(self, template: Template = Template.MIGRATED, *, name: str | None = None) -> str:
        """A new database file; with `name`, the same file again, laid anew (see `PostgresDatabases`)."""
        path = self.root / f"{name or uuid.uuid4().hex}.sqlite3"
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        if template is not Template.EMPTY:
            shutil.copyfile(self._template_file(template), path)
        return f"sqlite+aiosqlite:///{path}"


@dataclass
class PostgresDatabases:
    admin_dsn: str
    # Per process, so xdist workers (and parallel runs) never meet.
    prefix: str = field(default_factory=lambda: f"rs_test_{os.getpid()}_")
    _templates: dict[Template, str] = field(default_factory=dict)
    _created: list[str] = field(default_factory=list)
    _admin: _AdminConnection | None = None
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
        # One admin connection per process, on a loop of its own: a new connection per statement would
        # cost a server process start for every test database created and dropped.
        if self._admin is None:
            self._admin = _AdminConnection(self.admin_dsn)
        self._admin.execute(*statements)

    def _strategy(self) -> str:
        # PostgreSQL 15 copies a template through the WAL by default; copying the files is faster for
        # databases this small (and the test cluster's crash safety does not matter).
        if self._admin is None:
            self._admin = _AdminConnection(self.admin_dsn)
        return " STRATEGY FILE_COPY" if self._admin.server_version >= 15 else ""

    def _create(self, name: str, template: Template) -> None:
        if template is Template.EMPTY:
            self._execute(f'CREATE DATABASE "{name}"')
        else:
            source = self._template_name(template)
            self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"{self._strategy()}')
        self._created.append(name)

    def _template_name(self, template: Template) -> str:
        if template not in self._templates:
            name = f"{self.prefix}template_{template}"
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            base = template.base
            assert base is not None
            self._create(name, base)
            asyncio.run(_build(sqlalchemy_postgres_url(self.admin_dsn, name), template))
            self._templates[template] = name
        return self._templates[template]

    def fresh(self, template: Template = Template.MIGRATED, *, name: str | None = None) -> str:
        """A new database; with `name`, one of that name laid anew from the template, so that a test's
        database has the same address as the previous test's (and an application built for that
        address can serve the next test too)."""
        name = self.prefix + (name or uuid.uuid4().hex[:12])
        if name in self._created:
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self._created.remove(name)
        self._create(name, template)
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
        if self._admin is not None:
            self._admin.close()
            self._admin = None


class _AdminConnection:
    """A connection to the maintenance database, kept open on an event loop in a thread of its own
    (the tests' own loops come and go; an asyncpg connection belongs to the loop that opened it)."""

    def __init__(self, dsn: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-db-admin", daemon=True)
        self._thread.start()
        self._connection: asyncpg.Connection = self._run(asyncpg.connect(dsn, timeout=10))
        self.server_version: int = self._connection.get_server_version().major

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def execute(self, *statements: str) -> None:
        for statement in statements:
            self._run(self._connection.execute(statement))

    def close(self) -> None:
        self._run(self._connection.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
