"""Reports as JSON (msgspec structs, so the OpenAPI schema describes them) and as CSV.

JSON: a withheld value is `null`. CSV (RFC 4180, UTF-8, comma-separated, one value per line in "long"
form: table, row, column, value) writes a withheld value as "." — the sign German official statistics
use for "unknown or to be kept secret". Shares are fractions with a decimal point (0.8571), hours have
two decimals; the first lines (table "report") describe the report itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import msgspec

from referral_service.reporting.tables import Report, Value

WITHHELD = "."
CSV_MEDIA_TYPE = "text/csv"  # Litestar adds "; charset=utf-8"


class PeriodOut(msgspec.Struct):
    label: str
    year: int
    quarter: int | None
    first_day: dt.date
    last_day: dt.date


class ScopeOut(msgspec.Struct):
    kind: str
    code: str
    name: str


class SuppressionOut(msgspec.Struct):
    threshold: int
    rule: str


class ColumnOut(msgspec.Struct):
    key: str
    label: str
    kind: str


class RowOut(msgspec.Struct):
    key: str
    label: str
    total: bool
    values: dict[str, float | None]  # JSON numbers: integers and fractions alike (one schema type)


class TableOut(msgspec.Struct):
    key: str
    title: str
    columns: list[ColumnOut]
    rows: list[RowOut]
    note: str | None = None


class ReportOut(msgspec.Struct):
    report: str
    title: str
    period: PeriodOut
    scope: ScopeOut
    generated_at: dt.datetime
    suppression: SuppressionOut
    tables: list[TableOut]
    notes: list[str]


SUPPRESSION_RULE = (
    "Counts from 1 to 4 are withheld (null), and further cells so that no withheld count can be "
    "computed from the published cells and totals; medians and shares resting on fewer than "
    "{threshold} cases are withheld too. Zero is published."
)


def report_out(report: Report) -> ReportOut:
    return ReportOut(
        report=report.kind,
        title=report.title,
        period=PeriodOut(
            label=report.period.label,
            year=report.period.year,
            quarter=report.period.quarter,
            first_day=report.period.first_day,
            last_day=report.period.last_day,
        ),
        scope=ScopeOut(kind=report.scope.kind.value, code=report.scope.code, name=report.scope.name),
        generated_at=report.generated_at,
        suppression=SuppressionOut(
            threshold=report.threshold, rule=SUPPRESSION_RULE.format(threshold=report.threshold)
        ),
        tables=[
            TableOut(
                key=table.key,
                title=table.title,
                columns=[ColumnOut(c.key, c.label, c.kind.value) for c in table.columns],
                rows=[RowOut(r.key, r.label, r.total, dict(r.values)) for r in table.rows],
                note=table.note,
            )
            for table in report.tables
        ],
        notes=list(report.notes),
    )


def report_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["table", "row", "row_label", "column", "column_label", "value"])
    for key, value in (
        ("report", report.kind),
        ("title", report.title),
        ("period", report.period.label),
        ("scope", report.scope.code),
        ("scope_name", report.scope.name),
        ("generated_at", report.generated_at.isoformat()),
        ("threshold", str(report.threshold)),
    ):
        writer.writerow(["report", key, "", "", "", value])
    for table in report.tables:
        for row in table.rows:
            for column in table.columns:
                writer.writerow(
                    [
                        table.key,
                        row.key,
                        row.label,
                        column.key,
                        column.label,
                        _csv_value(row.values[column.key]),
                    ]
                )
    return buffer.getvalue()


def _csv_value(value: Value) -> str:
    if value is None:
        return WITHHELD
    return str(value)


def file_name(report: Report, extension: str) -> str:
    return f"{report.kind.replace('_', '-')}-{report.period.label}-{report.scope.label}.{extension}"
