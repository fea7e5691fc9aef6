"""Reports as JSON (msgspec structs, so the OpenAPI schema describes them) and as CSV.

A value that is withheld and one that is not applicable are both no number. JSON gives both as `null`
(a consumer that only knows numbers keeps working) and says which in the row's `absent`
({column: "withheld" | "not_applicable"}). CSV writes the signs of German official statistics
(Statistisches Bundesamt, "Zeichenerklärung"): "." for "Zahlenwert unbekannt oder geheimzuhalten"
(withheld) and "x" for "Tabellenfach gesperrt, weil Aussage nicht sinnvoll" (not applicable).

Standard CSV (RFC 4180, UTF-8, comma-separated, one value per line in "long" form: table, row,
column, value): shares are fractions with a decimal point (0.8571), hours have two decimals; the first
lines (table "report") describe the report itself. CSV for German spreadsheets has the same lines with
a semicolon as separator, a decimal comma (0,8571) and a byte order mark, so that a spreadsheet set to
German opens it as UTF-8 and reads the numbers as numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Mapping

import msgspec

from referral_service.reporting.tables import NotApplicable, Report, Value

WITHHELD = "."
NOT_APPLICABLE_SIGN = "x"
CSV_MEDIA_TYPE = "text/csv"  # Litestar adds "; charset=utf-8"
# Why a value is no number, in JSON's `absent`.
ABSENT_WITHHELD = "withheld"
ABSENT_NOT_APPLICABLE = "not_applicable"


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
    # For each null value: "withheld" (small-cell suppression) or "not_applicable" (nothing to state).
    absent: dict[str, str] = msgspec.field(default_factory=dict)


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
    "Counts from 1 to {largest} are withheld (null, absent: withheld), and further cells so that no "
    "withheld count can be computed from the published cells and totals; medians and shares resting on "
    "fewer than {threshold} cases are withheld too. Zero is published, except beside a withheld cell in "
    "a row or column of a two-way table. A share of no cases or a median of no durations is null with "
    "absent: not_applicable."
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
            threshold=report.threshold,
            rule=SUPPRESSION_RULE.format(threshold=report.threshold, largest=report.threshold - 1),
        ),
        tables=[
            TableOut(
                key=table.key,
                title=table.title,
                columns=[ColumnOut(c.key, c.label, c.kind.value) for c in table.columns],
                rows=[_row_out(r.key, r.label, r.total, r.values) for r in table.rows],
                note=table.note,
            )
            for table in report.tables
        ],
        notes=list(report.notes),
    )


def _row_out(key: str, label: str, total: bool, values: Mapping[str, Value]) -> RowOut:
    return RowOut(
        key,
        label,
        total,
        {k: None if v is None or isinstance(v, NotApplicable) else v for k, v in values.items()},
        {
            k: ABSENT_WITHHELD if v is None else ABSENT_NOT_APPLICABLE
            for k, v in values.items()
            if v is None or isinstance(v, NotApplicable)
        },
    )


def report_csv(report: Report) -> str:
    """Standard CSV: comma-separated, decimal point, no byte order mark."""
    return _csv(report, delimiter=",", number=str)


def report_csv_de(report: Report) -> bytes:
    """CSV for German spreadsheets: semicolon-separated, decimal comma, UTF-8 with byte order mark."""
    return _csv(report, delimiter=";", number=lambda value: str(value).replace(".", ",")).encode("utf-8-sig")


def _csv(report: Report, *, delimiter: str, number: Callable[[int | float], str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
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
                        sign_or(row.values[column.key], number),
                    ]
                )
    return buffer.getvalue()


def sign_or(value: Value, number: Callable[[int | float], str]) -> str:
    """A value as text: the sign for withheld or not applicable, else `number(value)`."""
    if value is None:
        return WITHHELD
    if isinstance(value, NotApplicable):
        return NOT_APPLICABLE_SIGN
    return number(value)


def file_name(report: Report, extension: str) -> str:
    return f"{report.kind.replace('_', '-')}-{report.period.label}-{report.scope.label}.{extension}"
