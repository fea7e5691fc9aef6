"""A report as an XLSX workbook (openpyxl): a first sheet describing the report, then one sheet per table.

Numbers are numbers: counts as integers, shares as fractions shown as percentages (0.0 %), hours with
two decimals, so a reader can compute with them. A withheld value is the text "." and a value that is
not applicable the text "x", the signs of German official statistics (see `render`); the first sheet
explains both.
"""

from __future__ import annotations

import io
import re

from openpyxl import Workbook
from openpyxl.styles import Font

from referral_service.reporting.render import NOT_APPLICABLE_SIGN, WITHHELD, sign_or
from referral_service.reporting.tables import NotApplicable, Report, Table, ValueKind

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_NUMBER_FORMATS = {ValueKind.COUNT: "0", ValueKind.SHARE: "0.0%", ValueKind.HOURS: "0.00"}
# Excel refuses these in sheet names and allows at most 31 characters.
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_BOLD = Font(bold=True)


def report_xlsx(report: Report) -> bytes:
    workbook = Workbook()
    about = workbook.active
    assert about is not None  # a new workbook has its one sheet
    about.title = "Bericht"
    lines: list[tuple[str, str | int]] = [
        ("Bericht", report.title),
        ("Zeitraum", report.period.label),
        ("Gebiet", report.scope.name),
        ("Erstellt", report.generated_at.isoformat()),
        ("Schwelle", report.threshold),
        (WITHHELD, "Zahlenwert geheimgehalten (kleine Fallzahl oder daraus errechenbar)"),
        (NOT_APPLICABLE_SIGN, "Aussage nicht sinnvoll (keine Fälle)"),
        *(("Hinweis", note) for note in report.notes),
    ]
    for line in lines:
        about.append(line)
    for table in report.tables:
        _table_sheet(workbook, table)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _table_sheet(workbook: Workbook, table: Table) -> None:
    sheet = workbook.create_sheet(_SHEET_NAME_FORBIDDEN.sub("_", table.key)[:31])
    sheet.append([table.title])
    sheet["A1"].font = _BOLD
    sheet.append(["", *(column.label for column in table.columns)])
    for row in table.rows:
        sheet.append([row.label])
        line = sheet.max_row
        for index, column in enumerate(table.columns, start=2):
            value = row.values[column.key]
            if value is None or isinstance(value, NotApplicable):
                cell = sheet.cell(line, index, sign_or(value, str))
            else:
                cell = sheet.cell(line, index, value)
                cell.number_format = _NUMBER_FORMATS[column.kind]
            if row.total:
                cell.font = _BOLD
        if row.total:
            sheet.cell(line, 1).font = _BOLD
    if table.note:
        sheet.append([])
        sheet.append([table.note])
    sheet.column_dimensions["A"].width = max(len(row.label) for row in table.rows) + 2
