"""Producing a report: period and scope from the request, the domain's builder, the audit event.

Each domain declares its reports as `DomainReport`s (builder, permission, audit action); the API, the
pages and the CLI all go through `produce_report`, so every report, however requested, is audited with
the action its domain declared, its period, scope and format.

The small-cell threshold is configured per report: `REFERRAL_REPORT_THRESHOLD_<KIND>` (e.g.
`REFERRAL_REPORT_THRESHOLD_COOPERATION`), else `REFERRAL_REPORT_THRESHOLD`, else 5; a value below
`MINIMUM_THRESHOLD` (3) is refused. `produce_report` builds the report under that threshold.
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
from referral_service.reporting.render import (
    CSV_MEDIA_TYPE,
    file_name,
    report_csv,
    report_csv_de,
    report_out,
)
from referral_service.reporting.scope import ReportScope, resolve_scope
from referral_service.reporting.suppression import MINIMUM_THRESHOLD, THRESHOLD, using_threshold
from referral_service.reporting.tables import Report
from referral_service.reporting.xlsx import XLSX_MEDIA_TYPE, report_xlsx
from referral_service.settings import int_variable

# The largest threshold accepted: beyond it a directorate's report would withhold nearly everything.
MAXIMUM_THRESHOLD = 100


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    # CSV for German spreadsheets: semicolons, decimal comma, byte order mark.
    CSV_DE = "csv-de"
    XLSX = "xlsx"


def report_threshold(environ: Mapping[str, str], kind: str) -> int:
    """The configured small-cell threshold of the report `kind`; `SettingsError` (naming the variable)
    below `MINIMUM_THRESHOLD` or above `MAXIMUM_THRESHOLD`."""
    default = int_variable(
        environ, "REPORT_THRESHOLD", THRESHOLD, minimum=MINIMUM_THRESHOLD, maximum=MAXIMUM_THRESHOLD
    )
    return int_variable(
        environ,
        f"REPORT_THRESHOLD_{kind.upper()}",
        default,
        minimum=MINIMUM_THRESHOLD,
        maximum=MAXIMUM_THRESHOLD,
    )


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
    """`?format=` wins; otherwise `Accept: text/csv` selects CSV and the XLSX media type XLSX; JSON is
    the default. (German CSV has no media type of its own: it is asked for with `?format=csv-de`.)"""
    if requested is not None:
        return requested
    accepted = {part.split(";")[0].strip().lower() for part in (accept or "").split(",")}
    if CSV_MEDIA_TYPE in accepted:
        return ReportFormat.CSV
    if XLSX_MEDIA_TYPE in accepted:
        return ReportFormat.XLSX
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
    threshold: int = THRESHOLD,
) -> Report:
    """The report under `threshold` (see `report_threshold`), audited."""
    period = period_of(year, quarter)
    scope = await resolve_scope(session, directorate)
    with using_threshold(threshold):
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


def render(report: Report, report_format: ReportFormat) -> bytes:
    """The report as the bytes of a file in `report_format`."""
    if report_format is ReportFormat.CSV:
        return report_csv(report).encode()
    if report_format is ReportFormat.CSV_DE:
        return report_csv_de(report)
    if report_format is ReportFormat.XLSX:
        return report_xlsx(report)
    return msgspec.json.encode(report_out(report))


# Media type and file name ending of each downloadable format.
_FILES = {
    ReportFormat.CSV: (CSV_MEDIA_TYPE, "csv"),
    ReportFormat.CSV_DE: (CSV_MEDIA_TYPE, "de.csv"),
    ReportFormat.XLSX: (XLSX_MEDIA_TYPE, "xlsx"),
}


def report_response(report: Report, report_format: ReportFormat) -> Response[Any]:
    headers = {"Cache-Control": "no-store"}
    if report_format in _FILES:
        media_type, extension = _FILES[report_format]
        headers["Content-Disposition"] = f'attachment; filename="{file_name(report, extension)}"'
        return Response(render(report, report_format), media_type=media_type, headers=headers)
    return Response(report_out(report), headers=headers)
