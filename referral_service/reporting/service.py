"""Producing a report: period and scope from the request, the domain's builder, the audit event.

Each domain declares its reports as `DomainReport`s (builder, permission, audit action); the API, the
pages and the CLI all go through `produce_report`, so every report, however requested, is audited with
the action its domain declared, its period, scope and format.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import msgspec
from litestar import Response
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.actions import AuditAction
from referral_service.audit.recorder import Actor, record_event
from referral_service.identity.permissions import Permission
from referral_service.reporting.periods import Period, period_of
from referral_service.reporting.render import CSV_MEDIA_TYPE, file_name, report_csv, report_out
from referral_service.reporting.scope import ReportScope, resolve_scope
from referral_service.reporting.tables import Report


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


class ReportBuilder(Protocol):
    async def __call__(
        self, session: AsyncSession, period: Period, scope: ReportScope, *, now: dt.datetime
    ) -> Report: ...


@dataclass(frozen=True, slots=True)
class DomainReport:
    """What makes one report different from the others; the route and the command are shared."""

    # The route's last path segment and the command's name, e.g. "complaints-annual".
    name: str
    # The kind stored with each produced report and named in its audit entry.
    kind: str
    builder: ReportBuilder
    # Recorded each time the report is produced (the domain declares it among its audit actions).
    read_action: AuditAction
    permission: Permission
    summary: str


def negotiate_format(requested: ReportFormat | None, accept: str | None) -> ReportFormat:
    """`?format=` wins; otherwise `Accept: text/csv` selects CSV; JSON is the default."""
    if requested is not None:
        return requested
    if accept and any(part.split(";")[0].strip().lower() == "text/csv" for part in accept.split(",")):
        return ReportFormat.CSV
    return ReportFormat.JSON


async def produce_report(
    session: AsyncSession,
    declared: DomainReport,
    *,
    year: int,
    quarter: int | None,
    directorate: str | None,
    report_format: ReportFormat,
    actor: Actor,
    audit: Mapping[str, Any],
    now: dt.datetime,
) -> Report:
    period = period_of(year, quarter)
    scope = await resolve_scope(session, directorate)
    report = await declared.builder(session, period, scope, now=now)
    await record_event(
        session,
        action=declared.read_action,
        actor=actor,
        target_type="report",
        target_id=declared.kind,
        details={"period": period.label, "scope": scope.label, "format": report_format.value},
        **audit,
    )
    return report


def render(report: Report, report_format: ReportFormat) -> str | bytes:
    if report_format is ReportFormat.CSV:
        return report_csv(report)
    return msgspec.json.encode(report_out(report))


def report_response(report: Report, report_format: ReportFormat) -> Response[Any]:
    headers = {"Cache-Control": "no-store"}
    if report_format is ReportFormat.CSV:
        headers["Content-Disposition"] = f'attachment; filename="{file_name(report, "csv")}"'
        return Response(report_csv(report), media_type=CSV_MEDIA_TYPE, headers=headers)
    return Response(report_out(report), headers=headers)
