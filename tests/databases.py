"""Isolated, migrated test databases on SQLite and PostgreSQL.

The schema is built once per engine and test session (per xdist worker) by the migrations (never
`create_all`), into up to three templates: the bare schema, the schema with the Saxon demo organisation,
and that with the demo postcode routing table. Each template is built from the one before it, when a
test first needs it. Each test then gets its own copy: a copied SQLite file, or a PostgreSQL database
created from the template. Tests commit for real, so concurrency and trigger behaviour is what
production sees.

Creating a PostgreSQL database copies some 8 MB of system catalogue and checkpoints the whole cluster,
which under a running suite costs more than most tests. So a test database that a test asks for by
name (each test's database has the same address as the previous one's, see `_fresh_database`) is laid
anew in place when it can be: its rows are replaced by the template's and its sequences set back, with
triggers off for the swap (`_Snapshot`). That is only done when the database's schema, triggers,
functions and grants are still exactly the template's (a fingerprint of the catalogue); a test that
changed any of them, or a swap that fails, gets a database created from the template as before.
"""

from __future__ import annotations

import asyncio
import io
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


# Everything of a database that a laying-anew of its rows would not restore.
_FINGERPRINT = """
SELECT md5(coalesce(string_agg(item, E'\\n' ORDER BY item), '')) FROM (
    SELECT 'c ' || c.oid::regclass::text || ' ' || c.relkind::text || ' ' || coalesce(c.relacl::text, '')
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
    UNION ALL
    SELECT 'a ' || a.attrelid::regclass::text || '.' || a.attname || ' '
        || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull || ' '
        || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 't ' || t.tgrelid::regclass::text || ' ' || t.tgname || ' ' || t.tgenabled::text || ' '
        || pg_get_triggerdef(t.oid)
    FROM pg_trigger t
    UNION ALL
    SELECT 'k ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'f ' || p.oid::regprocedure::text || ' ' || md5(p.prosrc) || ' ' || coalesce(p.proacl::text, '')
    FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'r ' || ev_class::regclass::text || ' ' || rulename || ' ' || ev_enabled::text FROM pg_rewrite
    WHERE ev_class IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)
    UNION ALL
    SELECT 'n ' || nspname || ' ' || coalesce(nspacl::text, '') FROM pg_namespace
    UNION ALL
    SELECT 's ' || setrole::text || ' ' || setconfig::text FROM pg_db_role_setting
    WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
    UNION ALL
    SELECT 'x ' || extname || ' ' || extversion FROM pg_extension
) AS catalogue(item)
"""
_TABLES = """
SELECT quote_ident(c.relname) FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.relname
"""
_SEQUENCES = """
SELECT quote_ident(sequencename), coalesce(last_value, start_value), last_value IS NOT NULL
FROM pg_sequences WHERE schemaname = 'public' ORDER BY sequencename
"""


@dataclass(frozen=True)
class _Snapshot:
    """A template database as its rows: what laying a used copy of it anew writes back."""

    fingerprint: str
    tables: tuple[str, ...]
    rows: tuple[tuple[str, bytes], ...]  # (table, binary COPY) for the tables that hold rows
    sequences: tuple[tuple[str, int, bool], ...]

    @staticmethod
    async def take(connection: asyncpg.Connection) -> _Snapshot:
        tables = tuple(row[0] for row in await connection.fetch(_TABLES))
        rows = []
        for table in tables:
            if await connection.fetchval(f"SELECT EXISTS (SELECT FROM {table})"):
                buffer = io.BytesIO()
                await connection.copy_from_table(table, output=buffer, format="binary")
                rows.append((table, buffer.getvalue()))
        sequences = tuple(
            (name, int(value), bool(called)) for name, value, called in await connection.fetch(_SEQUENCES)
        )
        return _Snapshot(await connection.fetchval(_FINGERPRINT), tables, tuple(rows), sequences)

    async def restore(self, connection: asyncpg.Connection) -> bool:
        """Lay the database anew as the template was; False (nothing changed) if its catalogue is not
        the template's any more."""
        if await connection.fetchval(_FINGERPRINT) != self.fingerprint:
            return False
        async with connection.transaction():
            # Replica mode: no trigger fires (the audit log's append-only guard, foreign keys), so the
            # rows can be swapped in any order; the database is the test's own, nobody else sees it.
            await connection.execute(
                "SET LOCAL session_replication_role = replica;"
                + "".join(f"DELETE FROM {table};" for table in self.tables)
            )
            for table, data in self.rows:
                await connection.copy_to_table(table, source=io.BytesIO(data), format="binary")
            if self.sequences:
                await connection.execute(
                    "SELECT "
                    + ", ".join(
                        f"setval('{name}', {value}, {called})" for name, value, called in self.sequences
                    )
                )
        return True


@dataclass
class PostgresDatabases:
    admin_dsn: str
    # Per process, so xdist workers (and parallel runs) never meet.
    prefix: str = field(default_factory=lambda: f"rs_test_{os.getpid()}_")
    _templates: dict[Template, str] = field(default_factory=dict)
    _created: list[str] = field(default_factory=list)
    # Databases kept for the next test that asks for them by name: name -> the template they copy.
    _kept: dict[str, Template] = field(default_factory=dict)
    _snapshots: dict[Template, _Snapshot] = field(default_factory=dict)
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
        return " STRATEGY WAL_LOG" if self._admin.server_version >= 15 else ""

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
            if template is not Template.EMPTY:
                self._snapshots[template] = asyncio.run(self._snapshot(name))
            self._templates[template] = name
        return self._templates[template]

    def fresh(self, template: Template = Template.MIGRATED, *, name: str | None = None) -> str:
        """A new database; with `name`, one of that name laid anew from the template, so that a test's
        database has the same address as the previous test's (and an application built for that
        address can serve the next test too)."""
        named = name is not None
        name = self.prefix + (name or uuid.uuid4().hex[:12])
        if (
            self._kept.get(name) is template
            and template is not Template.EMPTY
            and self._lay_anew(name, template)
        ):
            return sqlalchemy_postgres_url(self.admin_dsn, name)
        self._kept.pop(name, None)
        if name in self._created:
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self._created.remove(name)
        self._create(name, template)
        if named:
            self._kept[name] = template
        return sqlalchemy_postgres_url(self.admin_dsn, name)

    def _lay_anew(self, name: str, template: Template) -> bool:
        snapshot = self._snapshots.get(template)
        if snapshot is None:
            return False
        assert self._admin is not None
        # A connection the previous test left open would hold locks on the rows to be swapped.
        self._admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        url = sqlalchemy_postgres_url(self.admin_dsn, name).replace("postgresql+asyncpg://", "postgresql://")

        async def restore() -> bool:
            connection = await asyncpg.connect(url, timeout=10)
            try:
                return await snapshot.restore(connection)
            finally:
                await connection.close()

        try:
            return self._admin.run(restore())
        except (asyncpg.PostgresError, OSError):
            return False

    def keeps(self, url: str) -> bool:
        """Whether the database at `url` is kept for the next test (so not to be dropped after this one)."""
        return url.rpartition("/")[2] in self._kept

    async def _snapshot(self, name: str) -> _Snapshot:
        url = sqlalchemy_postgres_url(self.admin_dsn, name).replace("postgresql+asyncpg://", "postgresql://")
        connection = await asyncpg.connect(url, timeout=10)
        try:
            return await _Snapshot.take(connection)
        finally:
            await connection.close()

    def drop(self, url: str) -> None:
        name = url.rpartition("/")[2]
        self._kept.pop(name, None)
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self._created:
            self._created.remove(name)

    def drop_all(self) -> None:
        self._kept.clear()
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

    def fetch(self, query: str, *args: object) -> list[Any]:
        return self._run(self._connection.fetch(query, *args))

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """`work` on this connection's loop (for connections of its own, e.g. to a test database)."""
        return self._run(work)

    def close(self) -> None:
        self._run(self._connection.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
