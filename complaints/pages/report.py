"""The complaints office's annual report as a page (the lead and auditors)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get

from complaints.pages.common import REPORT_AREA, Caller, Session
from complaints.reports import ANNUAL_REPORT
from referral_service.identity.http import requires
from referral_service.identity.permissions import Permission
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.i18n import N_
from referral_service.web.reports import report_page


class ComplaintsReportPage(Controller):
    """The complaints office's annual report as a page."""

    path = REPORT_AREA.path
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("", opt=requires(Permission.REPORT_COMPLAINTS_ANNUAL_READ))
    async def report(
        self, request: Request[Any, Any, Any], db_session: Session, principal: Caller
    ) -> Response[Any]:
        return await report_page(
            request,
            db_session,
            principal,
            ANNUAL_REPORT,
            title_key=N_("report.complaints.title"),
            path=REPORT_AREA.path,
            api_path="/api/v1/reports/complaints-annual",
        )
