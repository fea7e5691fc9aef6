"""Complaint references: "BS-2026-000123", sequential per year, unique under concurrency on both engines.

A reference is not a secret (it is guessable from its neighbours); what opens a complaint is the access
code that comes with it, so nothing may be keyed on a reference that a stranger could then use against
its complainant, such as a lock after failed attempts.

The next number comes from a counter row per year, incremented with one atomic statement inside the
submitting transaction (`INSERT .. ON CONFLICT (year) DO UPDATE SET last_value = last_value + 1
RETURNING last_value`). PostgreSQL holds the row lock until commit, SQLite's `BEGIN IMMEDIATE` holds the
database write lock; either way a second submission waits for the first, so no two get the same number,
and a rolled-back submission returns its number (no gaps). Allocate last, after the other work (the data
key, encryption), to keep that wait short. The unique constraint on `complaints.reference` backs this up.
"""

from __future__ import annotations

import re

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.models import ComplaintReferenceCounter

PREFIX = "BS"
# Leading zeros may be left out when typing a reference ("bs-2026-123").
_REFERENCE = re.compile(r"^BS-(\d{4})-(\d{1,9})$")


def format_reference(year: int, sequence: int) -> str:
    return f"{PREFIX}-{year:04d}-{sequence:06d}"


def normalise_reference(raw: str) -> str | None:
    """The canonical form of a typed reference ("bs-2026-123" -> "BS-2026-000123"), or None."""
    match = _REFERENCE.match(raw.strip().upper().replace(" ", ""))
    if match is None:
        return None
    return format_reference(int(match.group(1)), int(match.group(2)))


async def allocate(session: AsyncSession, year: int) -> tuple[int, str]:
    """The next (sequence, reference) of `year`, taken inside the caller's transaction."""
    last_value = col(ComplaintReferenceCounter.last_value)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(ComplaintReferenceCounter)
        .values(year=year, last_value=1)
        .on_conflict_do_update(index_elements=["year"], set_={"last_value": last_value + 1})
        .returning(last_value)
    )
    sequence = int((await session.execute(stmt)).scalar_one())
    return sequence, format_reference(year, sequence)
