"""The import's SQL: what its checks need to know, and the bulk inserts (one statement per table and
chunk, executed for many rows at once, instead of the ORM's row by row)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service import importing
from referral_service.identity.models import OrgUnit, User
from referral_service.identity.roles import UnitKind
from referral_service.keys.models import DataKeyRecord
from referral_service.referrals.models import PostcodeRoute, Referral, ReferralImport, ReferralTransition

_REFERRALS = Referral.__table__  # type: ignore[attr-defined]
_TRANSITIONS = ReferralTransition.__table__  # type: ignore[attr-defined]
_KEYS = DataKeyRecord.__table__  # type: ignore[attr-defined]
_IMPORTS = ReferralImport.__table__  # type: ignore[attr-defined]
_UNITS = OrgUnit.__table__  # type: ignore[attr-defined]
_ROUTES = PostcodeRoute.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]
# Bound parameters per IN list: well below every engine's limit.
_IN_CHUNK = 500


async def is_recorded(session: AsyncSession, import_id: str) -> bool:
    return await importing.is_recorded(session, _IMPORTS, import_id)


async def record(session: AsyncSession, entry: ReferralImport) -> None:
    """Claims the import id first: a concurrent run of the same import waits here for this one."""
    await importing.record(session, _IMPORTS, **importing.values_of(entry))


async def taken_references(session: AsyncSession, references: Collection[str]) -> set[str]:
    """The stored referrals' references among `references`."""
    wanted = sorted(references)
    found: set[str] = set()
    for start in range(0, len(wanted), _IN_CHUNK):
        stmt = select(_REFERRALS.c.reference).where(
            _REFERRALS.c.reference.in_(wanted[start : start + _IN_CHUNK])
        )
        found.update(str(reference) for reference in (await session.execute(stmt)).scalars())
    return found


async def unit_ids(session: AsyncSession, kind: UnitKind) -> dict[str, uuid.UUID]:
    """{code: id} of every unit of `kind`."""
    stmt = select(_UNITS.c.code, _UNITS.c.id).where(_UNITS.c.kind == kind)
    return {str(code): id_ for code, id_ in (await session.execute(stmt)).all()}


async def postcode_routes(session: AsyncSession) -> list[tuple[str, str, uuid.UUID]]:
    """The routing table as (from, to, branch), the most specific range (the highest start) first, as
    intake's `branch_for_postcode` picks it; read once, so that routing a file costs no query per row."""
    stmt = select(_ROUTES.c.postcode_from, _ROUTES.c.postcode_to, _ROUTES.c.branch_id).order_by(
        _ROUTES.c.postcode_from.desc()
    )
    return [(str(low), str(high), branch) for low, high, branch in (await session.execute(stmt)).all()]


async def active_user_id(session: AsyncSession, username: str) -> uuid.UUID | None:
    stmt = select(_USERS.c.id).where(_USERS.c.username == username, _USERS.c.active.is_(True))
    return (await session.execute(stmt)).scalar_one_or_none()


async def insert_chunk(
    session: AsyncSession,
    keys: Sequence[Mapping[str, Any]],
    referrals: Sequence[Mapping[str, Any]],
    transitions: Sequence[Mapping[str, Any]],
) -> None:
    if keys:
        await session.execute(insert(_KEYS), keys)
    await session.execute(insert(_REFERRALS), referrals)
    await session.execute(insert(_TRANSITIONS), transitions)
