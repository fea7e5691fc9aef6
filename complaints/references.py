"""Complaint references: "BS-2026-000123", sequential per year, unique under concurrency on both engines.

A reference is not a secret (it is guessable from its neighbours); what opens a complaint is the access
code that comes with it, so nothing may be keyed on a reference that a stranger could then use against
its complainant, such as a lock after failed attempts.

The number comes from the kernel's counter (`referral_service.references`: a row per year, taken inside
the submitting transaction); allocate last, after the other work (the data key, encryption), to keep the
wait of concurrent submissions short. The unique constraint on `complaints.reference` backs this up.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.models import ComplaintReferenceCounter
from referral_service import references

PREFIX = "BS"


def format_reference(year: int, sequence: int) -> str:
    return references.format_reference(PREFIX, year, sequence)


def normalise_reference(raw: str) -> str | None:
    """The canonical form of a typed reference ("bs-2026-123" -> "BS-2026-000123"), or None."""
    return references.normalise(PREFIX, raw)


async def allocate(session: AsyncSession, year: int) -> tuple[int, str]:
    """The next (sequence, reference) of `year`, taken inside the caller's transaction."""
    sequence = await references.allocate_next(session, ComplaintReferenceCounter, year)
    return sequence, format_reference(year, sequence)


async def allocate_block(session: AsyncSession, year: int, count: int, *, after: int = 0) -> int:
    """The first of `count` consecutive sequence numbers of `year` (a bulk import), above `after`."""
    return await references.allocate_block(session, ComplaintReferenceCounter, year, count, after=after)
