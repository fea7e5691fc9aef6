"""The cooperation-agreement report (police and WEISSER RING) as a page."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.http import requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.referrals.pages.common import REPORT_AREA
from referral_service.referrals.reports import cooperation
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.i18n import N_
from referral_service.web.reports import report_page


class CooperationReportPage(Controller):
    """The cooperation-agreement report (police and WEISSER RING) as a page."""

    path = REPORT_AREA.path
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("", opt=requires(Permission.REPORT_COOPERATION_READ))
    async def report(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Response[Any]:
        return await report_page(
            request,
            db_session,
            principal,
            cooperation(request.app.state.referral_policy),
            title_key=N_("report.cooperation.title"),
            path=REPORT_AREA.path,
            api_path="/api/v1/reports/cooperation",
        )
