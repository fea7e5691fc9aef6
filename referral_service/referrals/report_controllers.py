"""`GET /api/v1/reports/cooperation`: the cooperation-agreement report (JSON or CSV)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.http import requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.referrals.reports import KIND, cooperation_report
from referral_service.reporting.http import REPORT_RESPONSES, Directorate, Format, Quarter, Year, serve_report


class CooperationReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]

    @get(
        "/cooperation",
        opt=requires(Permission.REPORT_COOPERATION_READ),
        summary="Cooperation-agreement report (police and WEISSER RING)",
        responses=REPORT_RESPONSES,
    )
    async def cooperation(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        year: Year,
        quarter: Quarter = None,
        directorate: Directorate = None,
        report_format: Format = None,
    ) -> Response[Any]:
        return await serve_report(
            request,
            db_session,
            principal,
            cooperation_report,
            kind=KIND,
            year=year,
            quarter=quarter,
            directorate=directorate,
            requested_format=report_format,
        )
