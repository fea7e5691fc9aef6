"""`/api/v1/reports/activities`: the register of joint cooperation activities (police and WEISSER RING).

Reading needs the cooperation report's permission; recording and removing need
`report:activity:manage`. Every call is audited.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.db import utcnow
from referral_service.identity.http import audit_fields, requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.reporting import activities
from referral_service.reporting.http import Directorate, Quarter, Year
from referral_service.reporting.periods import period_of
from referral_service.reporting.schemas import Activity, ActivityCreate
from referral_service.reporting.scope import resolve_scope


class ActivityController(Controller):
    path = "/api/v1/reports/activities"
    tags = ["reports"]

    @get("", opt=requires(Permission.REPORT_COOPERATION_READ), summary="Cooperation activities of a period")
    async def list_activities(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        year: Year,
        quarter: Quarter = None,
        directorate: Directorate = None,
    ) -> list[Activity]:
        scope = await resolve_scope(db_session, directorate)
        return await activities.list_activities(
            db_session, principal, period_of(year, quarter), scope, audit=audit_fields(request)
        )

    @post("", opt=requires(Permission.REPORT_ACTIVITY_MANAGE), summary="Record a cooperation activity")
    async def record(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[ActivityCreate],
    ) -> Activity:
        return await activities.record_activity(
            db_session, principal, data, now=utcnow(), audit=audit_fields(request)
        )

    @delete(
        "/{activity_id:uuid}",
        opt=requires(Permission.REPORT_ACTIVITY_MANAGE),
        summary="Remove a wrongly recorded activity",
    )
    async def remove(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        activity_id: FromPath[uuid.UUID],
    ) -> None:
        await activities.remove_activity(db_session, principal, activity_id, audit=audit_fields(request))
