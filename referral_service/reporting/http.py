"""The report routes of every domain: a domain declares a `DomainReport`, `report_handler` serves it.

`GET /api/v1/reports/<name>` takes the year, an optional quarter and directorate, and answers JSON,
CSV, CSV for German spreadsheets or XLSX; every report fetched is audited. The same declaration gives
`referral-service report <name>`.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.db import utcnow
from referral_service.identity.http import audit_fields, requires
from referral_service.identity.principal import Principal
from referral_service.openapi import ALSO_SERVED_AS
from referral_service.reporting.periods import FIRST_YEAR, LAST_YEAR
from referral_service.reporting.render import ReportOut
from referral_service.reporting.service import (
    DomainReport,
    ReportFormat,
    negotiate_format,
    produce_report,
    report_response,
    report_threshold,
)
from referral_service.reporting.xlsx import XLSX_MEDIA_TYPE
from referral_service.settings import Settings

Year = Annotated[int, QueryParameter(ge=FIRST_YEAR, le=LAST_YEAR, description="Calendar year")]
Quarter = Annotated[int | None, QueryParameter(ge=1, le=4, description="Quarter 1-4 (default: whole year)")]
Directorate = Annotated[
    str | None,
    QueryParameter(max_length=32, description="Code of a police directorate (default: the whole state)"),
]
Format = Annotated[
    ReportFormat | None,
    QueryParameter(
        name="format",
        description="json, csv, csv-de (German spreadsheets: semicolons, decimal comma, BOM) or xlsx "
        "(default: from Accept, else json)",
    ),
]

REPORT_RESPONSES = {
    200: ResponseSpec(
        data_container=ReportOut,
        description="The report as JSON; as CSV (text/csv) with ?format=csv or Accept: text/csv, as CSV "
        "for German spreadsheets with ?format=csv-de, as XLSX with ?format=xlsx or its Accept type",
    )
}


async def serve_report(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    principal: Principal,
    declared: DomainReport,
    *,
    year: int,
    quarter: int | None,
    directorate: str | None,
    requested_format: ReportFormat | None,
) -> Response[Any]:
    report_format = negotiate_format(requested_format, request.headers.get("accept"))
    report = await produce_report(
        session,
        declared,
        year=year,
        quarter=quarter,
        directorate=directorate,
        report_format=report_format,
        actor=principal.actor,
        audit=audit_fields(request),
        now=utcnow(),
        threshold=configured_threshold(request, declared),
    )
    return report_response(report, report_format)


def configured_threshold(request: Request[Any, Any, Any], declared: DomainReport) -> int:
    """The small-cell threshold configured for this report (`report_threshold`)."""
    settings: Settings = request.app.state.settings
    return report_threshold(settings.environ, declared.kind)


def report_handler(report: DomainReport) -> HTTPRouteHandler:
    """`GET /api/v1/reports/<name>` for one declared report."""

    async def handler(
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
            report,
            year=year,
            quarter=quarter,
            directorate=directorate,
            requested_format=report_format,
        )

    # The OpenAPI operation id is made of the path and the function's name.
    handler.__name__ = handler.__qualname__ = report.name.replace("-", "_")
    return get(
        f"/api/v1/reports/{report.name}",
        opt={**requires(report.permission), ALSO_SERVED_AS: ("text/csv", XLSX_MEDIA_TYPE)},
        summary=report.summary,
        responses=REPORT_RESPONSES,
        tags=["reports"],
    )(handler)
