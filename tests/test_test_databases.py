"""The test databases themselves: a PostgreSQL database kept for the next test is laid anew exactly as
its template, and one whose catalogue a test changed is created anew instead. A wrong reset would let
one test's rows leak into the next and make results depend on test order."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from tests.components import POSTGRES
from tests.databases import PostgresDatabases, Template, postgres_admin_dsn


@pytest.fixture
def databases() -> Iterator[PostgresDatabases]:
    own = PostgresDatabases(postgres_admin_dsn())
    own.prefix += "self_"
    reason = own.check_available()
    if reason is not None:
        POSTGRES.skip_or_fail(reason)
    yield own
    own.drop_all()


def _run(url: str, *statements: str) -> list[list[asyncpg.Record]]:
    async def work() -> list[list[asyncpg.Record]]:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            return [await connection.fetch(statement) for statement in statements]
        finally:
            await connection.close()

    return asyncio.run(work())


STATE = (
    "SELECT count(*) FROM org_units",
    "SELECT count(*) FROM users",
    "SELECT count(*) FROM role_assignments",
    "SELECT name FROM org_units ORDER BY name",
)


def test_a_kept_database_is_laid_anew_as_its_template(databases: PostgresDatabases) -> None:
    url = databases.fresh(Template.DEMO, name="kept")
    template = [[tuple(row) for row in rows] for rows in _run(url, *STATE)]
    assert template[0][0][0] > 0  # the demo organisation is there

    # A test changes and removes rows.
    _run(url, "UPDATE org_units SET name = 'renamed by a test'", "DELETE FROM role_assignments")
    assert _run(url, "SELECT count(*) FROM org_units WHERE name = 'renamed by a test'")[0][0][0] > 0

    again = databases.fresh(Template.DEMO, name="kept")
    assert again == url  # the same address: the application of the previous test serves this one
    assert [[tuple(row) for row in rows] for rows in _run(again, *STATE)] == template
    # The swap turned the triggers off for itself only: the log's guard refuses again.
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        _run(again, "TRUNCATE audit_log")


def test_a_database_whose_catalogue_changed_is_created_anew(databases: PostgresDatabases) -> None:
    url = databases.fresh(Template.MIGRATED, name="changed")
    _run(url, "ALTER TABLE org_units ADD COLUMN added_by_a_test integer")
    _run(url, "ALTER TABLE audit_log DISABLE TRIGGER USER")
    again = databases.fresh(Template.MIGRATED, name="changed")
    columns = _run(
        again,
        "SELECT count(*) FROM information_schema.columns WHERE column_name = 'added_by_a_test'",
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass AND tgenabled = 'D'",
    )
    assert columns[0][0][0] == 0
    assert columns[1][0][0] == 0
