"""The register of joint cooperation activities: record, list, remove (each audited).

Organising units must be police or WEISSER RING units (the register is about their cooperation). An
activity belongs to a directorate's report when one of its organising units lies in that directorate.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.recorder import record_event
from referral_service.identity.principal import Principal
from referral_service.identity.roles import UnitKind
from referral_service.problems import DomainError, ErrorKind
from referral_service.reporting import repository
from referral_service.reporting.audit_actions import ReportingAuditAction
from referral_service.reporting.models import CooperationActivity
from referral_service.reporting.periods import Period
from referral_service.reporting.schemas import Activity, ActivityCreate
from referral_service.reporting.scope import ReportScope

ORGANISING_KINDS = frozenset(
    {
        UnitKind.POLICE_DIRECTORATE,
        UnitKind.POLICE_STATION,
        UnitKind.WR_STATE_OFFICE,
        UnitKind.WR_BRANCH,
        UnitKind.STATE,
    }
)
# Nothing that far ahead is a record of something that took place.
LATEST_AHEAD = dt.timedelta(days=366)


class ActivityInvalidError(DomainError):
    code = "report.activity_invalid"
    kind = ErrorKind.INVALID
    title = "The activity cannot be recorded"


class ActivityNotFoundError(DomainError):
    code = "report.activity_not_found"
    kind = ErrorKind.NOT_FOUND
    title = "No such activity"


def activity_out(activity: CooperationActivity, unit_ids: list[uuid.UUID]) -> Activity:
    return Activity(
        id=activity.id,
        held_on=activity.held_on,
        kind=activity.kind,  # type: ignore[arg-type]
        organising_unit_ids=unit_ids,
        participants=activity.participants,
        recorded_by_id=activity.recorded_by_id,
        created_at=activity.created_at,
    )


async def record_activity(
    session: AsyncSession,
    principal: Principal,
    data: ActivityCreate,
    *,
    now: dt.datetime,
    audit: Mapping[str, Any],
) -> Activity:
    unit_ids = sorted(set(data.organising_unit_ids))
    units = await repository.units_by_ids(session, set(unit_ids))
    if len(units) != len(unit_ids) or any(UnitKind(u.kind) not in ORGANISING_KINDS for u in units.values()):
        raise ActivityInvalidError("Every organising unit must be an existing police or WEISSER RING unit.")
    if data.held_on > (now + LATEST_AHEAD).date():
        raise ActivityInvalidError("The activity date lies too far in the future.")
    activity = CooperationActivity(
        held_on=data.held_on,
        kind=data.kind.value,
        participants=data.participants,
        recorded_by_id=principal.user_id,
        created_at=now,
    )
    await repository.add_activity(session, activity, unit_ids)
    await record_event(
        session,
        action=ReportingAuditAction.ACTIVITY_CREATE,
        actor=principal.actor,
        target_type="cooperation_activity",
        target_id=str(activity.id),
        details={"kind": activity.kind, "held_on": activity.held_on.isoformat(), "units": len(unit_ids)},
        **audit,
    )
    return activity_out(activity, unit_ids)


async def list_activities(
    session: AsyncSession,
    principal: Principal,
    period: Period,
    scope: ReportScope,
    *,
    audit: Mapping[str, Any],
) -> list[Activity]:
    found = await repository.activities_between(session, period.first_day, period.last_day, scope.path)
    await record_event(
        session,
        action=ReportingAuditAction.ACTIVITY_READ,
        actor=principal.actor,
        details={"period": period.label, "scope": scope.label, "returned": len(found)},
        **audit,
    )
    return [activity_out(activity, units) for activity, units in found]


async def remove_activity(
    session: AsyncSession, principal: Principal, activity_id: uuid.UUID, *, audit: Mapping[str, Any]
) -> None:
    if not await repository.delete_activity(session, activity_id):
        raise ActivityNotFoundError()
    await record_event(
        session,
        action=ReportingAuditAction.ACTIVITY_DELETE,
        actor=principal.actor,
        target_type="cooperation_activity",
        target_id=str(activity_id),
        **audit,
    )
