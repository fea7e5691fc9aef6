"""A report as a page: period and scope chosen with a GET form, the tables as accessible HTML tables,
each with a bar chart drawn on the server (`referral_service.web.charts`) beside it; a two-way table
(units by offence area) gets a second chart of its total row, the mix of offence areas.

The domains' report pages (`referral_service.referrals.pages`, `complaints.pages`) pass their declared
report; the report is produced by `referral_service.reporting.service.produce_report`, which applies
small-cell suppression and audits the read. The choice of period and directorate is no personal data,
so it may travel in the query string; the downloads (CSV, CSV for German spreadsheets, XLSX) come
from the report API with the same parameters.

A withheld value shows as ".", a value that is not applicable as "x", as in the CSV files.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response
from markupsafe import Markup
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.db import utcnow
from referral_service.identity import service as identity_service
from referral_service.identity.http import audit_fields
from referral_service.identity.principal import Principal
from referral_service.identity.roles import UnitKind
from referral_service.reporting.http import configured_threshold
from referral_service.reporting.render import (
    ABSENT_NOT_APPLICABLE,
    NOT_APPLICABLE_SIGN,
    WITHHELD,
    RowOut,
    TableOut,
    report_out,
)
from referral_service.reporting.service import DomainReport, ReportFormat, produce_report
from referral_service.reporting.tables import ValueKind
from referral_service.web.charts import Bar, bar_chart
from referral_service.web.forms import FormInput, refusable
from referral_service.web.i18n import N_, Translator, language_of, translator_for
from referral_service.web.render import page, today

_ERROR_FIELDS = {"report.unknown_directorate": "directorate", "report.invalid_period": "year"}


def format_value(value: int | float | None, kind: str, language: str, *, applicable: bool = True) -> str:
    """A cell as people read it; a withheld value is ".", one that is not applicable "x" (as German
    official statistics write them)."""
    if not applicable:
        return NOT_APPLICABLE_SIGN
    if value is None:
        return WITHHELD
    if kind == "share":
        text = f"{value * 100:.1f} %"
    elif kind == "hours":
        text = f"{value:.1f}"
    else:
        text = f"{int(value):,}".replace(",", "\N{NARROW NO-BREAK SPACE}")
    return text.replace(".", ",") if language == "de" else text


def chart_column(table: TableOut) -> str | None:
    """The column a table's chart shows: a two-way table's row totals, a median's hours, else the
    first count. None for a table without such a column."""
    kinds = {column.key: column.kind for column in table.columns}
    if kinds.get("total") == ValueKind.COUNT:
        return "total"
    for wanted in (ValueKind.HOURS, ValueKind.COUNT):
        found = next((column.key for column in table.columns if column.kind == wanted), None)
        if found is not None:
            return found
    return None


def row_cell(row: RowOut, key: str, kind: str, language: str) -> str:
    """One cell of a row as the table shows it."""
    applicable = row.absent.get(key) != ABSENT_NOT_APPLICABLE
    return format_value(row.values.get(key), kind, language, applicable=applicable)


def table_charts(table: TableOut, number: int, t: Translator) -> list[Markup]:
    """The table's charts: one column over its rows, and for a two-way table (a "total" column and a
    total row) also the total row over its columns: the mix of offence areas."""
    return [chart for chart in (table_chart(table, number, t), mix_chart(table, number, t)) if chart]


def table_chart(table: TableOut, number: int, t: Translator) -> Markup | None:
    """A bar chart of one column over the table's rows (totals left out), or None when there is
    nothing to compare (fewer than two rows)."""
    key = chart_column(table)
    rows = [row for row in table.rows if not row.total]
    if key is None or len(rows) < 2:
        return None
    column = next(column for column in table.columns if column.key == key)
    return bar_chart(
        [_bar(row.label, row, key, column.kind, t.language) for row in rows],
        chart_id=f"chart-{number}",
        title=t("report.chart.title", table=table.title),
        description=t("report.chart.description", column=column.label, table=table.title),
        withheld_text=t("report.chart.withheld"),
        not_applicable_text=t("report.chart.not_applicable"),
        maximum=1.0 if column.kind == ValueKind.SHARE else None,
    )


def mix_chart(table: TableOut, number: int, t: Translator) -> Markup | None:
    """A two-way table's total row as a bar per column (e.g. the referrals per offence area), or None
    for any other table."""
    kinds = {column.key: column.kind for column in table.columns}
    total = next((row for row in table.rows if row.total), None)
    parts = [column for column in table.columns if column.key != "total"]
    if kinds.get("total") != ValueKind.COUNT or total is None or len(parts) < 2:
        return None
    return bar_chart(
        [_bar(column.label, total, column.key, column.kind, t.language) for column in parts],
        chart_id=f"chart-{number}-mix",
        title=t("report.chart.mix_title", table=table.title),
        description=t("report.chart.mix_description", row=total.label, table=table.title),
        withheld_text=t("report.chart.withheld"),
        not_applicable_text=t("report.chart.not_applicable"),
    )


def _bar(label: str, row: RowOut, key: str, kind: str, language: str) -> Bar:
    return Bar(
        label,
        row.values.get(key),
        row_cell(row, key, kind, language),
        applicable=row.absent.get(key) != ABSENT_NOT_APPLICABLE,
    )


async def report_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    principal: Principal,
    declared: DomainReport,
    *,
    title_key: str,
    path: str,
    api_path: str,
) -> Response[Any]:
    current_year = today().year
    query = request.query_params
    data = FormInput(query)
    year_text = data.text("year", max_length=4, pattern=r"[0-9]{4}") or str(current_year)
    quarter_text = data.text("quarter", max_length=1, pattern=r"[1-4]")
    directorate = data.text("directorate", max_length=32, pattern=r"[a-z0-9-]{2,32}")
    data.values.update(year=year_text, quarter=quarter_text or "", directorate=directorate or "")
    # Plain values now: a rollback below would expire the rows.
    directorates = [
        (unit.code, unit.name)
        for unit in await identity_service.list_units(session, None, kind=UnitKind.POLICE_DIRECTORATE)
    ]
    report = None
    status_code = 200
    if data.ok:
        # An unknown directorate is the form's choice: shown next to the field like any other refusal.
        async with refusable(session, not_found_is_refusal=True) as refused:
            produced = await produce_report(
                session,
                declared,
                year=int(year_text),
                quarter=int(quarter_text) if quarter_text else None,
                directorate=directorate,
                # produce_report knows JSON and CSV only; the page shows the JSON form's content.
                report_format=ReportFormat.JSON,
                actor=principal.actor,
                audit=audit_fields(request),
                now=utcnow(),
                threshold=configured_threshold(request, declared),
            )
            report = report_out(produced)
        if refused.error is not None:
            data.error(_ERROR_FIELDS.get(refused.error.code, "year"), N_("report.error.parameters"))
            status_code = refused.error.kind.value
    else:
        status_code = 422
    query_of_report = {
        k: v for k, v in (("year", year_text), ("quarter", quarter_text), ("directorate", directorate)) if v
    }
    return page(
        request,
        "reports/report.html",
        status_code=status_code,
        context={
            "title_key": title_key,
            "path": path,
            "report": report,
            "years": [(str(year), str(year)) for year in range(current_year, current_year - 6, -1)],
            "quarters": [(str(q), f"report.quarter.{q}") for q in range(1, 5)],
            "directorates": directorates,
            "downloads": [
                (
                    f"{api_path}?{urlencode({**query_of_report, 'format': chosen})}",
                    f"report.download.{chosen}",
                )
                for chosen in (ReportFormat.CSV_DE, ReportFormat.XLSX, ReportFormat.CSV)
            ],
            "cell": lambda row, column: row_cell(row, column.key, column.kind, language_of(request)),
            "charts": lambda table, number: table_charts(table, number, translator_for(request)),
            "errors": data.errors,
            "values": data.values,
        },
    )
