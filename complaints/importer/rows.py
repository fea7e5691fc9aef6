"""Reading an import file and checking its rows; no database here (what the checks need from it, the
references already taken and the police units' codes, comes in as arguments).

An error names the row (as a spreadsheet numbers it: the header is row 1), the column and a stable
code, never a cell's content: cells hold personal data, and the report goes to a terminal, a ticket or
a log. An unknown column is named by its letter for the same reason (a file without a header row would
otherwise print its first complaint).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from complaints.config import OFFICE_TIMEZONE, ComplaintsConfig
from complaints.domain import (
    Category,
    Channel,
    ComplainantKind,
    ComplaintStatus,
    ComplaintType,
    ForwardReason,
    NoDecisionReason,
    Outcome,
)
from complaints.references import normalise_reference
from complaints.schemas import MAX_TEXT
from complaints.service.backdating import BEFORE_OFFICE_OPENED, DATE_IN_FUTURE, DATE_ORDER, date_errors
from complaints.service.intake import INCIDENT_IN_FUTURE
from referral_service.values import EMAIL, PHONE

# A file above either limit is refused before any row is checked: 50 MiB hold some 100,000 complaints
# with long descriptions; more than 100,000 rows are more than the Saxon office received in twenty
# years (split the file by year). Both keep one import's transaction and memory bounded.
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 100_000

# The pseudo-column of errors that concern the whole file.
FILE = "file"

Cell = str | int | float | bool | dt.date | dt.datetime | None
E = TypeVar("E", bound=StrEnum)


class Column(StrEnum):
    REFERENCE = "reference"
    TYPE = "type"
    COMPLAINANT_KIND = "complainant_kind"
    CHANNEL = "channel"
    CATEGORIES = "categories"
    RECEIVED_AT = "received_at"
    DECIDED_AT = "decided_at"
    CLOSED_AT = "closed_at"
    OUTCOME = "outcome"
    NO_DECISION_REASON = "no_decision_reason"
    FORWARD_REASON = "forward_reason"
    CRIMINAL_INVESTIGATION = "criminal_investigation"
    DISCIPLINARY_PROCEEDINGS = "disciplinary_proceedings"
    POLICE_UNIT = "police_unit"
    FOLLOW_UP_OF = "follow_up_of"
    INCIDENT_DATE = "incident_date"
    NAME = "name"
    EMAIL = "email"
    PHONE = "phone"
    ADDRESS = "address"
    DESCRIPTION = "description"
    PLACE = "place"


REQUIRED = (Column.TYPE, Column.COMPLAINANT_KIND, Column.CHANNEL, Column.CATEGORIES, Column.RECEIVED_AT)
PERSONAL = (Column.NAME, Column.EMAIL, Column.PHONE, Column.ADDRESS, Column.DESCRIPTION, Column.PLACE)
IDENTITY = (Column.NAME, Column.EMAIL, Column.PHONE, Column.ADDRESS)
# The same limits as a complaint entered by hand (complaints/schemas.py).
_MAX_LENGTH = {Column.NAME: 200, Column.ADDRESS: 500, Column.PLACE: 500, Column.DESCRIPTION: MAX_TEXT}

# Header names as an office's own spreadsheet may have them (compared in lower case, spaces and
# hyphens read as underscores).
GERMAN_HEADERS: Mapping[str, Column] = {
    "aktenzeichen": Column.REFERENCE,
    "art": Column.TYPE,
    "beschwerdeführer": Column.COMPLAINANT_KIND,
    "eingangsweg": Column.CHANNEL,
    "beschwerdeinhalte": Column.CATEGORIES,
    "eingang": Column.RECEIVED_AT,
    "entscheidung": Column.DECIDED_AT,
    "abschluss": Column.CLOSED_AT,
    "ergebnis": Column.OUTCOME,
    "grund_ohne_entscheidung": Column.NO_DECISION_REASON,
    "abgabegrund": Column.FORWARD_REASON,
    "strafverfahren": Column.CRIMINAL_INVESTIGATION,
    "disziplinarverfahren": Column.DISCIPLINARY_PROCEEDINGS,
    "dienststelle": Column.POLICE_UNIT,
    "folgebeschwerde_zu": Column.FOLLOW_UP_OF,
    "vorfallsdatum": Column.INCIDENT_DATE,
    "e_mail": Column.EMAIL,
    "telefon": Column.PHONE,
    "anschrift": Column.ADDRESS,
    "sachverhalt": Column.DESCRIPTION,
    "ort": Column.PLACE,
}
_HEADERS: Mapping[str, Column] = {**{column.value: column for column in Column}, **GERMAN_HEADERS}

_TRUE = frozenset({"1", "x", "yes", "true", "ja", "wahr"})
_FALSE = frozenset({"", "0", "no", "false", "nein", "falsch"})
_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")

# The codes of the report, each with what it means.
MESSAGES: Mapping[str, str] = {
    "import.file_too_large": f"The file is larger than {MAX_FILE_BYTES >> 20} MiB; split it by year.",
    "import.too_many_rows": f"The file has more than {MAX_ROWS:,} rows; split it by year.",
    "import.unreadable": "The file cannot be read as CSV (UTF-8) or XLSX.",
    "import.empty": "The file has no header row.",
    "import.no_rows": "The file has no complaints below its header.",
    "import.missing_column": "A required column is missing.",
    "import.unknown_column": "The column's header is not one the import knows (see docs/complaints.md).",
    "import.duplicate_column": "Two columns have the same header.",
    "value.required": "A value is required here.",
    "import.unknown_code": "Not one of the codes of this column (see docs/complaints.md).",
    "import.bad_date": "Not a date (2017-03-14, 14.03.2017, or with a time).",
    "import.bad_boolean": "Not yes/no (ja/nein, 1/0).",
    DATE_IN_FUTURE: "The date lies in the future.",
    BEFORE_OFFICE_OPENED: "The date lies before the office opened (REFERRAL_COMPLAINT_OFFICE_OPENED_ON).",
    DATE_ORDER: "The date lies before an earlier step (received <= decided <= closed).",
    INCIDENT_IN_FUTURE: "The incident date lies in the future.",
    "import.bad_reference": "Not a complaint reference (BS-2017-000123).",
    "import.reference_year": "The reference's year is not the year of receipt.",
    "import.duplicate_reference": "The reference appears in an earlier row of the file.",
    "import.reference_taken": "A stored complaint has this reference already.",
    "import.unknown_unit": "No police station or directorate has this code.",
    "import.not_applicable": "Only with an outcome that calls for it (see docs/complaints.md).",
    "import.forward_after_decision": "A complaint is forwarded instead of decided, not both.",
    "import.too_long": "The text is longer than a complaint entered by hand may be.",
    "complaint.anonymous_identity": "An anonymous complaint carries no name, contact or address.",
    "complaint.not_a_follow_up": "Only a follow-up names an earlier complaint.",
    "value.email": "Not an e-mail address.",
    "value.phone": "Not a phone number.",
}


@dataclass(frozen=True, slots=True, order=True)
class RowError:
    row: int  # 0: the file as a whole; 1: the header
    column: str
    code: str

    @property
    def message(self) -> str:
        return MESSAGES.get(self.code, self.code)


@dataclass(frozen=True, slots=True)
class Sheet:
    """The file's header and its non-empty rows, each with its row number."""

    header: Sequence[Cell]
    rows: Sequence[tuple[int, Sequence[Cell]]]


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One complaint as checked; its status follows from what happened to it (`status`)."""

    row: int
    reference: str | None
    complaint_type: ComplaintType
    complainant_kind: ComplainantKind
    channel: Channel
    categories: tuple[Category, ...]  # the primary first
    received_at: dt.datetime
    decided_at: dt.datetime | None
    closed_at: dt.datetime | None
    incident_date: dt.date | None
    outcome: Outcome | None
    no_decision_reason: NoDecisionReason | None
    forward_reason: ForwardReason | None
    criminal_investigation: bool
    disciplinary_proceedings: bool
    police_unit: str | None
    follow_up_of: str | None
    personal: Mapping[str, str] = field(default_factory=dict)

    @property
    def status(self) -> ComplaintStatus:
        """Forwarded, decided (closed when a closing date is given), withdrawn (closed without either),
        or still being examined (none of these)."""
        if self.forward_reason is not None:
            return ComplaintStatus.FORWARDED
        if self.outcome is not None:
            return ComplaintStatus.CLOSED if self.closed_at is not None else ComplaintStatus.DECISION
        if self.closed_at is not None:
            return ComplaintStatus.WITHDRAWN
        return ComplaintStatus.IN_PROGRESS


# Reading


def read_sheet(path: Path) -> tuple[Sheet | None, list[RowError]]:
    """The file's rows (CSV in UTF-8 with ";" or ",", or the first sheet of an XLSX workbook)."""
    if path.stat().st_size > MAX_FILE_BYTES:
        return None, [RowError(0, FILE, "import.file_too_large")]
    try:
        lines = _xlsx_rows(path) if path.suffix.lower() == ".xlsx" else _csv_rows(path)
        header: Sequence[Cell] | None = None
        rows: list[tuple[int, Sequence[Cell]]] = []
        for number, cells in enumerate(lines, start=1):
            if header is None:
                header = cells
                continue
            if all(_text(cell) == "" for cell in cells):
                continue
            if len(rows) == MAX_ROWS:
                return None, [RowError(0, FILE, "import.too_many_rows")]
            rows.append((number, cells))
    except (UnicodeDecodeError, csv.Error, zipfile.BadZipFile, KeyError, OSError, ValueError):
        return None, [RowError(0, FILE, "import.unreadable")]
    if header is None:
        return None, [RowError(0, FILE, "import.empty")]
    if not rows:
        return None, [RowError(0, FILE, "import.no_rows")]
    return Sheet(header=header, rows=rows), []


def _csv_rows(path: Path) -> Iterator[Sequence[Cell]]:
    # utf-8-sig: German spreadsheets write a byte order mark.
    text = path.read_bytes().decode("utf-8-sig")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)


def _xlsx_rows(path: Path) -> Iterator[Sequence[Cell]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        for values in workbook.worksheets[0].iter_rows(values_only=True):
            yield [value if isinstance(value, Cell) else str(value) for value in values]  # type: ignore[arg-type]
    finally:
        workbook.close()


def columns_of(header: Sequence[Cell]) -> tuple[dict[Column, int], list[RowError]]:
    """Which column holds what; errors for unknown, repeated and missing columns."""
    found: dict[Column, int] = {}
    errors: list[RowError] = []
    for index, cell in enumerate(header):
        name = re.sub(r"[\s\-]+", "_", _text(cell).lower())
        if not name:
            continue  # trailing empty columns, as spreadsheets save them
        column = _HEADERS.get(name)
        if column is None:
            errors.append(RowError(1, _letter(index), "import.unknown_column"))
        elif column in found:
            errors.append(RowError(1, column.value, "import.duplicate_column"))
        else:
            found[column] = index
    errors += [
        RowError(1, column.value, "import.missing_column") for column in REQUIRED if column not in found
    ]
    return found, errors


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def references_in(sheet: Sheet, columns: Mapping[Column, int]) -> set[str]:
    """Every well-formed reference the file names (its own and the earlier complaints of follow-ups)."""
    found: set[str] = set()
    for column in (Column.REFERENCE, Column.FOLLOW_UP_OF):
        if column in columns:
            for _, cells in sheet.rows:
                text = _cell(cells, columns[column])
                reference = normalise_reference(text) if text else None
                if reference is not None:
                    found.add(reference)
    return found


# Checking


@dataclass(frozen=True, slots=True)
class Limits:
    """What the checks need from outside the file."""

    # Its clock and the day the office opened (the dates' limits, as for historical entry by hand).
    config: ComplaintsConfig
    police_units: Collection[str]
    taken: Collection[str]


def check_rows(
    sheet: Sheet, columns: Mapping[Column, int], limits: Limits
) -> tuple[list[ImportRow], list[RowError]]:
    """Every row checked; the rows that passed and every error found, in row order."""
    errors: list[RowError] = []
    records: list[ImportRow] = []
    seen: set[str] = set()
    for number, cells in sheet.rows:
        row = _Row(number, cells, columns, errors)
        record = row.check(limits, seen)
        if record is not None:
            records.append(record)
    return records, errors


class _Row:
    def __init__(
        self, number: int, cells: Sequence[Cell], columns: Mapping[Column, int], errors: list[RowError]
    ) -> None:
        self.number = number
        self.cells = cells
        self.columns = columns
        self.errors = errors
        self.failed = False

    def fail(self, column: Column, code: str) -> None:
        self.failed = True
        self.errors.append(RowError(self.number, column.value, code))

    def raw(self, column: Column) -> Cell:
        index = self.columns.get(column)
        return self.cells[index] if index is not None and index < len(self.cells) else None

    def text(self, column: Column) -> str:
        return _text(self.raw(column))

    def code(self, column: Column, kind: type[E], *, required: bool = False) -> E | None:
        text = self.text(column)
        if not text:
            if required:
                self.fail(column, "value.required")
            return None
        try:
            return kind(text.lower())
        except ValueError:
            self.fail(column, "import.unknown_code")
            return None

    def moment(self, column: Column, *, required: bool = False) -> dt.datetime | None:
        cell = self.raw(column)
        if _text(cell) == "":
            if required:
                self.fail(column, "value.required")
            return None
        moment = _moment(cell)
        if moment is None:
            self.fail(column, "import.bad_date")
        return moment

    def flag(self, column: Column) -> bool:
        cell = self.raw(column)
        if isinstance(cell, bool):
            return cell
        text = _text(cell).lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        self.fail(column, "import.bad_boolean")
        return False

    def check(self, limits: Limits, seen: set[str]) -> ImportRow | None:
        C = Column
        reference = self._reference(limits, seen)
        complaint_type = self.code(C.TYPE, ComplaintType, required=True)
        kind = self.code(C.COMPLAINANT_KIND, ComplainantKind, required=True)
        channel = self.code(C.CHANNEL, Channel, required=True)
        categories = self._categories()
        received_at = self.moment(C.RECEIVED_AT, required=True)
        decided_at = self.moment(C.DECIDED_AT)
        closed_at = self.moment(C.CLOSED_AT)
        incident = self.moment(C.INCIDENT_DATE)
        self._dates(limits, received_at, decided_at, closed_at, incident)
        if (
            reference is not None
            and received_at is not None
            and reference[3:7] != str(_local(received_at).year)
        ):
            self.fail(C.REFERENCE, "import.reference_year")

        outcome = self.code(C.OUTCOME, Outcome)
        reason = self.code(C.NO_DECISION_REASON, NoDecisionReason)
        forward = self.code(C.FORWARD_REASON, ForwardReason)
        criminal = self.flag(C.CRIMINAL_INVESTIGATION)
        disciplinary = self.flag(C.DISCIPLINARY_PROCEEDINGS)
        if outcome is not None and decided_at is None and self.text(C.DECIDED_AT) == "":
            self.fail(C.DECIDED_AT, "value.required")
        if decided_at is not None and outcome is None and self.text(C.OUTCOME) == "":
            self.fail(C.OUTCOME, "value.required")
        if outcome is Outcome.NO_DECISION and reason is None and self.text(C.NO_DECISION_REASON) == "":
            self.fail(C.NO_DECISION_REASON, "value.required")
        if reason is not None and outcome is not Outcome.NO_DECISION:
            self.fail(C.NO_DECISION_REASON, "import.not_applicable")
        if forward is not None and (outcome is not None or decided_at is not None):
            self.fail(C.FORWARD_REASON, "import.forward_after_decision")
        if forward is not None and closed_at is None and self.text(C.CLOSED_AT) == "":
            self.fail(C.CLOSED_AT, "value.required")
        for column, value in (
            (C.CRIMINAL_INVESTIGATION, criminal),
            (C.DISCIPLINARY_PROCEEDINGS, disciplinary),
        ):
            if value and outcome is None:
                self.fail(column, "import.not_applicable")

        unit = self.text(C.POLICE_UNIT).lower() or None
        if unit is not None and unit not in limits.police_units:
            self.fail(C.POLICE_UNIT, "import.unknown_unit")
        follow_up_of = self._follow_up(complaint_type)
        personal = self._personal(kind)

        if (
            self.failed
            or complaint_type is None
            or kind is None
            or channel is None
            or not categories
            or received_at is None
        ):
            return None
        return ImportRow(
            row=self.number,
            reference=reference,
            complaint_type=complaint_type,
            complainant_kind=kind,
            channel=channel,
            categories=categories,
            received_at=received_at,
            decided_at=decided_at,
            closed_at=closed_at,
            incident_date=_local(incident) if incident is not None else None,
            outcome=outcome,
            no_decision_reason=reason,
            forward_reason=forward,
            criminal_investigation=criminal,
            disciplinary_proceedings=disciplinary,
            police_unit=unit,
            follow_up_of=follow_up_of,
            personal=personal,
        )

    def _reference(self, limits: Limits, seen: set[str]) -> str | None:
        text = self.text(Column.REFERENCE)
        if not text:
            return None
        reference = normalise_reference(text)
        if reference is None:
            self.fail(Column.REFERENCE, "import.bad_reference")
        elif reference in seen:
            self.fail(Column.REFERENCE, "import.duplicate_reference")
        elif reference in limits.taken:
            self.fail(Column.REFERENCE, "import.reference_taken")
        if reference is not None:
            seen.add(reference)
        return reference

    def _categories(self) -> tuple[Category, ...]:
        codes = [part.strip().lower() for part in self.text(Column.CATEGORIES).split("|") if part.strip()]
        if not codes:
            self.fail(Column.CATEGORIES, "value.required")
            return ()
        try:
            return tuple(dict.fromkeys(Category(code) for code in codes))
        except ValueError:
            self.fail(Column.CATEGORIES, "import.unknown_code")
            return ()

    def _dates(
        self,
        limits: Limits,
        received_at: dt.datetime | None,
        decided_at: dt.datetime | None,
        closed_at: dt.datetime | None,
        incident: dt.datetime | None,
    ) -> None:
        C = Column
        # The rules of historical entry by hand (`service.backdating`), with their codes.
        steps = ((C.RECEIVED_AT, received_at), (C.DECIDED_AT, decided_at), (C.CLOSED_AT, closed_at))
        earlier: tuple[str, dt.datetime] | None = None
        for column, moment in steps:
            if moment is None:
                continue
            for error in date_errors(limits.config, column.value, moment, not_before=earlier):
                self.fail(column, error.code)
            earlier = (column.value, moment)
        if incident is not None and _local(incident) > limits.config.today():
            self.fail(C.INCIDENT_DATE, INCIDENT_IN_FUTURE)

    def _follow_up(self, complaint_type: ComplaintType | None) -> str | None:
        text = self.text(Column.FOLLOW_UP_OF)
        if not text:
            return None
        if complaint_type is not None and complaint_type is not ComplaintType.FOLLOW_UP:
            self.fail(Column.FOLLOW_UP_OF, "complaint.not_a_follow_up")
            return None
        reference = normalise_reference(text)
        if reference is None:
            self.fail(Column.FOLLOW_UP_OF, "import.bad_reference")
        return reference

    def _personal(self, kind: ComplainantKind | None) -> dict[str, str]:
        values: dict[str, str] = {}
        for column in PERSONAL:
            text = self.text(column)
            if not text:
                continue
            if kind is ComplainantKind.ANONYMOUS and column in IDENTITY:
                self.fail(column, "complaint.anonymous_identity")
            elif column is Column.EMAIL and not EMAIL.accepts(text):
                self.fail(column, EMAIL.code)
            elif column is Column.PHONE and not PHONE.accepts(text):
                self.fail(column, PHONE.code)
            elif len(text) > _MAX_LENGTH.get(column, MAX_TEXT):
                self.fail(column, "import.too_long")
            values[column.value] = text
        return values


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, dt.date):
        return cell.isoformat()
    return str(cell).strip()


def _cell(cells: Sequence[Cell], index: int) -> str:
    return _text(cells[index]) if index < len(cells) else ""


def _moment(cell: Cell) -> dt.datetime | None:
    """A point in time, UTC; a date alone is the start of that day and a time without an offset the
    office's local time (as the office wrote its files)."""
    if isinstance(cell, dt.datetime):
        naive = cell
    elif isinstance(cell, dt.date):
        naive = dt.datetime.combine(cell, dt.time())
    else:
        text = _text(cell)
        german = _GERMAN_DATE.match(text)
        try:
            if german is not None:
                day, month, year, hour, minute, second = german.groups()
                naive = dt.datetime(
                    int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
                )
            else:
                naive = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    moment = naive if naive.tzinfo is not None else naive.replace(tzinfo=OFFICE_TIMEZONE)
    try:
        return moment.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return None


def _local(moment: dt.datetime) -> dt.date:
    return moment.astimezone(OFFICE_TIMEZONE).date()


def error_lines(errors: Iterable[RowError]) -> list[str]:
    """The report, one line per error: "row 7, received_at: import.date_in_future (The date lies ...)"."""
    lines = []
    for error in sorted(errors):
        place = "file" if error.row == 0 else f"row {error.row}, {error.column}"
        lines.append(f"{place}: {error.code} ({error.message})")
    return lines
