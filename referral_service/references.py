"""Case references that people can quote ("BS-2026-000123", "VM-2026-000123"): a prefix, the year, and a
sequence number per year, unique under concurrency on both engines and without gaps.

The next number comes from a counter row per year (any table with `year` as primary key and
`last_value`), incremented with one atomic statement inside the creating transaction (`INSERT ..
ON CONFLICT (year) DO UPDATE SET last_value = last_value + 1 RETURNING last_value`). PostgreSQL holds the
row lock until commit, SQLite's `BEGIN IMMEDIATE` holds the database write lock; either way a second
creation waits for the first, so no two get the same number, and a rolled-back creation returns its
number (no gaps). Allocate last, after the other work (the data key, encryption), to keep that wait
short. A unique constraint on the case's reference column backs this up.
"""

from __future__ import annotations

import re

from sqlalchemy import Table, case
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

# Leading zeros may be left out when typing a reference ("bs-2026-123").
_TYPED = re.compile(r"^([A-Z]+)-(\d{4})-(\d{1,9})$")


def format_reference(prefix: str, year: int, sequence: int) -> str:
    return f"{prefix}-{year:04d}-{sequence:06d}"


def normalise(prefix: str, raw: str) -> str | None:
    """The canonical form of a typed reference with `prefix` ("bs-2026-123" -> "BS-2026-000123"), or None."""
    match = _TYPED.match(raw.strip().upper().replace(" ", ""))
    if match is None or match.group(1) != prefix:
        return None
    return format_reference(prefix, int(match.group(2)), int(match.group(3)))


async def allocate_next(session: AsyncSession, counter_model: type[SQLModel], year: int) -> int:
    """The next sequence number of `year` in `counter_model`'s table, taken inside the caller's
    transaction."""
    table: Table = counter_model.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .values(year=year, last_value=1)
        .on_conflict_do_update(index_elements=["year"], set_={"last_value": table.c.last_value + 1})
        .returning(table.c.last_value)
    )
    return int((await session.execute(stmt)).scalar_one())


async def allocate_block(
    session: AsyncSession, counter_model: type[SQLModel], year: int, count: int, *, after: int = 0
) -> int:
    """The first of `count` consecutive sequence numbers of `year`, all taken in one statement (bulk
    imports). The block starts above the counter and above `after` (the highest number an import keeps
    from its file), so that no later allocation can hand out a number kept there."""
    table: Table = counter_model.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    above = case((table.c.last_value > after, table.c.last_value), else_=after)
    stmt = (
        insert(table)
        .values(year=year, last_value=after + count)
        .on_conflict_do_update(index_elements=["year"], set_={"last_value": above + count})
        .returning(table.c.last_value)
    )
    return int((await session.execute(stmt)).scalar_one()) - count + 1
