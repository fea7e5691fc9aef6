"""`GET /api/v1/reports/complaints-annual`: the complaints office's annual report (JSON or CSV)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.reports import KIND, complaints_annual_report
from referral_service.identity.http import requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.reporting.http import REPORT_RESPONSES, Directorate, Format, Quarter, Year, serve_report


class ComplaintsAnnualReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]

    @get(
        "/complaints-annual",
        opt=requires(Permission.REPORT_COMPLAINTS_ANNUAL_READ),
        summary="Annual report of the complaints office (a quarter on request)",
        responses=REPORT_RESPONSES,
    )
    async def complaints_annual(
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
            complaints_annual_report,
            kind=KIND,
            year=year,
            quarter=quarter,
            directorate=directorate,
            requested_format=report_format,
        )
