"""The import's SQL: what its checks need to know, and the bulk inserts (one statement per table and
chunk, executed for many rows at once, instead of the ORM's row by row)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.models import Complaint, ComplaintCategory, ComplaintImport
from complaints.repository import POLICE_UNIT_KINDS
from referral_service import importing
from referral_service.identity.models import OrgUnit
from referral_service.keys.models import DataKeyRecord

_COMPLAINTS = Complaint.__table__  # type: ignore[attr-defined]
_CATEGORIES = ComplaintCategory.__table__  # type: ignore[attr-defined]
_KEYS = DataKeyRecord.__table__  # type: ignore[attr-defined]
_IMPORTS = ComplaintImport.__table__  # type: ignore[attr-defined]
_UNITS = OrgUnit.__table__  # type: ignore[attr-defined]
# Bound parameters per IN list: well below every engine's limit.
_IN_CHUNK = 500


async def is_recorded(session: AsyncSession, import_id: str) -> bool:
    return await importing.is_recorded(session, _IMPORTS, import_id)


async def record(session: AsyncSession, entry: ComplaintImport) -> None:
    """Claims the import id first: a concurrent run of the same import waits here for this one."""
    await importing.record(session, _IMPORTS, **importing.values_of(entry))


async def ids_by_reference(session: AsyncSession, references: Collection[str]) -> dict[str, uuid.UUID]:
    """{reference: complaint id} of the stored complaints among `references`."""
    wanted = sorted(references)
    found: dict[str, uuid.UUID] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        stmt = select(_COMPLAINTS.c.reference, _COMPLAINTS.c.id).where(
            _COMPLAINTS.c.reference.in_(wanted[start : start + _IN_CHUNK])
        )
        found.update({str(reference): id_ for reference, id_ in (await session.execute(stmt)).all()})
    return found


async def police_unit_ids(session: AsyncSession) -> dict[str, uuid.UUID]:
    """{code: id} of every police station and directorate."""
    stmt = select(_UNITS.c.code, _UNITS.c.id).where(_UNITS.c.kind.in_(POLICE_UNIT_KINDS))
    return {str(code): id_ for code, id_ in (await session.execute(stmt)).all()}


values_of = importing.values_of


async def insert_chunk(
    session: AsyncSession,
    keys: Sequence[Mapping[str, Any]],
    complaints: Sequence[Mapping[str, Any]],
    categories: Sequence[Mapping[str, Any]],
) -> None:
    await session.execute(insert(_KEYS), keys)
    await session.execute(insert(_COMPLAINTS), complaints)
    await session.execute(insert(_CATEGORIES), categories)


async def link_follow_ups(session: AsyncSession, links: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """Follow-ups to complaints of the same file, linked once all of them are in (a link may point to a
    later row of the file, which the foreign key would refuse while that row is not yet inserted)."""
    if not links:
        return
    stmt = (
        update(_COMPLAINTS)
        .where(_COMPLAINTS.c.id == bindparam("complaint"))
        .values(follow_up_of_id=bindparam("earlier"))
    )
    await session.execute(stmt, [{"complaint": later, "earlier": earlier} for later, earlier in links])
