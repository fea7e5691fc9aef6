"""SQL of the reporting kernel: the police units a report lists, and the cooperation activities."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.models import OrgUnit
from referral_service.identity.roles import UnitKind
from referral_service.reporting.models import CooperationActivity, CooperationActivityUnit

POLICE_KINDS = (UnitKind.POLICE_DIRECTORATE.value, UnitKind.POLICE_STATION.value)


async def police_units(session: AsyncSession) -> Sequence[OrgUnit]:
    stmt = select(OrgUnit).where(col(OrgUnit.kind).in_(POLICE_KINDS)).order_by(col(OrgUnit.path))
    return (await session.exec(stmt)).all()


async def state_unit(session: AsyncSession) -> OrgUnit | None:
    """The state unit, when the deployment has exactly one (the usual case)."""
    states = (await session.exec(select(OrgUnit).where(OrgUnit.kind == UnitKind.STATE.value))).all()
    return states[0] if len(states) == 1 else None


async def units_by_ids(session: AsyncSession, unit_ids: set[uuid.UUID]) -> dict[uuid.UUID, OrgUnit]:
    if not unit_ids:
        return {}
    rows = (await session.exec(select(OrgUnit).where(col(OrgUnit.id).in_(unit_ids)))).all()
    return {unit.id: unit for unit in rows}


async def add_activity(
    session: AsyncSession, activity: CooperationActivity, unit_ids: Sequence[uuid.UUID]
) -> None:
    session.add(activity)
    await session.flush()
    session.add_all(CooperationActivityUnit(activity_id=activity.id, unit_id=u) for u in unit_ids)
    await session.flush()


async def delete_activity(session: AsyncSession, activity_id: uuid.UUID) -> bool:
    units = CooperationActivityUnit.__table__  # type: ignore[attr-defined]
    activities = CooperationActivity.__table__  # type: ignore[attr-defined]
    await session.execute(delete(units).where(units.c.activity_id == activity_id))
    result = await session.execute(delete(activities).where(activities.c.id == activity_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def activities_between(
    session: AsyncSession, first_day: dt.date, last_day: dt.date, unit_path: str | None
) -> list[tuple[CooperationActivity, list[uuid.UUID]]]:
    """Activities held in [first_day, last_day]; with `unit_path`, those co-organised by a unit below it."""
    stmt = (
        select(CooperationActivity)
        .where(col(CooperationActivity.held_on) >= first_day, col(CooperationActivity.held_on) <= last_day)
        .order_by(col(CooperationActivity.held_on), col(CooperationActivity.id))
    )
    if unit_path is not None:
        in_scope = (
            select(CooperationActivityUnit.activity_id)
            .join(OrgUnit, col(OrgUnit.id) == col(CooperationActivityUnit.unit_id))
            .where(col(OrgUnit.path).startswith(unit_path, autoescape=True))
        )
        stmt = stmt.where(col(CooperationActivity.id).in_(in_scope))
    activities = list((await session.exec(stmt)).all())
    units = await _units_of(session, [a.id for a in activities])
    return [(activity, units.get(activity.id, [])) for activity in activities]


async def activity_totals(
    session: AsyncSession, first_day: dt.date, last_day: dt.date, unit_path: str | None
) -> dict[str, tuple[int, int]]:
    """Per kind: (number of activities, participants) held in the period and scope."""
    table = CooperationActivity.__table__  # type: ignore[attr-defined]
    stmt = (
        select(table.c.kind, func.count(), func.coalesce(func.sum(table.c.participants), 0))
        .where(table.c.held_on >= first_day, table.c.held_on <= last_day)
        .group_by(table.c.kind)
    )
    if unit_path is not None:
        in_scope = (
            select(CooperationActivityUnit.activity_id)
            .join(OrgUnit, col(OrgUnit.id) == col(CooperationActivityUnit.unit_id))
            .where(col(OrgUnit.path).startswith(unit_path, autoescape=True))
        )
        stmt = stmt.where(table.c.id.in_(in_scope))
    rows = (await session.execute(stmt)).all()
    return {str(kind): (int(count), int(total)) for kind, count, total in rows}


async def _units_of(session: AsyncSession, activity_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    if not activity_ids:
        return {}
    stmt = (
        select(CooperationActivityUnit)
        .where(col(CooperationActivityUnit.activity_id).in_(activity_ids))
        .order_by(col(CooperationActivityUnit.unit_id))
    )
    found: dict[uuid.UUID, list[uuid.UUID]] = {}
    for link in (await session.exec(stmt)).all():
        found.setdefault(link.activity_id, []).append(link.unit_id)
    return found
