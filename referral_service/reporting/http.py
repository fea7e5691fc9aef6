"""What the report routes of every domain share: query parameters and the response."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.db import utcnow
from referral_service.identity.http import audit_fields
from referral_service.identity.principal import Principal
from referral_service.reporting.periods import FIRST_YEAR, LAST_YEAR
from referral_service.reporting.render import ReportOut
from referral_service.reporting.service import (
    ReportBuilder,
    ReportFormat,
    negotiate_format,
    produce_report,
    report_response,
)

Year = Annotated[int, QueryParameter(ge=FIRST_YEAR, le=LAST_YEAR, description="Calendar year")]
Quarter = Annotated[int | None, QueryParameter(ge=1, le=4, description="Quarter 1-4 (default: whole year)")]
Directorate = Annotated[
    str | None,
    QueryParameter(max_length=32, description="Code of a police directorate (default: the whole state)"),
]
Format = Annotated[
    ReportFormat | None,
    QueryParameter(name="format", description="json or csv (default: from Accept, else json)"),
]

REPORT_RESPONSES = {
    200: ResponseSpec(
        data_container=ReportOut,
        description="The report as JSON; as CSV (text/csv) with ?format=csv or Accept: text/csv",
    )
}


async def serve_report(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    principal: Principal,
    builder: ReportBuilder,
    *,
    kind: str,
    year: int,
    quarter: int | None,
    directorate: str | None,
    requested_format: ReportFormat | None,
) -> Response[Any]:
    report_format = negotiate_format(requested_format, request.headers.get("accept"))
    report = await produce_report(
        session,
        builder,
        kind=kind,
        year=year,
        quarter=quarter,
        directorate=directorate,
        report_format=report_format,
        actor=principal.actor,
        audit=audit_fields(request),
        now=utcnow(),
    )
    return report_response(report, report_format)
