"""Checking an import file's complaints; no database here (what the checks need from it, the
references already taken and the police units' codes, comes in as arguments).

Reading the file, its limits, the header, the cells and the error report are the kernel's
(`referral_service.importing`, shared with the referrals' import); the columns, codes and rules here are
the complaints'. An error names row, column and code, never a cell's content.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from complaints.config import ComplaintsConfig
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
from referral_service import importing
from referral_service.importing import Cell, RowError, RowReader, Sheet, cell_text, local_date
from referral_service.values import EMAIL, PHONE

# The kernel's limits, here so that a test can lower them for this import alone.
MAX_FILE_BYTES = importing.MAX_FILE_BYTES
MAX_ROWS = importing.MAX_ROWS


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

# The codes of the report, each with what it means.
MESSAGES: Mapping[str, str] = importing.messages(
    "docs/complaints.md",
    {
        DATE_IN_FUTURE: "The date lies in the future.",
        BEFORE_OFFICE_OPENED: "The date lies before the office opened (REFERRAL_COMPLAINT_OFFICE_OPENED_ON).",
        DATE_ORDER: "The date lies before an earlier step (received <= decided <= closed).",
        INCIDENT_IN_FUTURE: "The incident date lies in the future.",
        "import.bad_reference": "Not a complaint reference (BS-2017-000123).",
        "import.reference_taken": "A stored complaint has this reference already.",
        "import.unknown_unit": "No police station or directorate has this code.",
        "import.not_applicable": "Only with an outcome that calls for it (see docs/complaints.md).",
        "import.forward_after_decision": "A complaint is forwarded instead of decided, not both.",
        "import.too_long": "The text is longer than a complaint entered by hand may be.",
        "complaint.anonymous_identity": "An anonymous complaint carries no name, contact or address.",
        "complaint.not_a_follow_up": "Only a follow-up names an earlier complaint.",
        "value.email": "Not an e-mail address.",
        "value.phone": "Not a phone number.",
    },
)


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
    return importing.read_sheet(path, max_bytes=MAX_FILE_BYTES, max_rows=MAX_ROWS)


def columns_of(header: Sequence[Cell]) -> tuple[dict[Column, int], list[RowError]]:
    """Which column holds what; errors for unknown, repeated and missing columns."""
    return importing.columns_of(header, _HEADERS, REQUIRED)


def references_in(sheet: Sheet, columns: Mapping[Column, int]) -> set[str]:
    """Every well-formed reference the file names (its own and the earlier complaints of follow-ups)."""
    found: set[str] = set()
    for column in (Column.REFERENCE, Column.FOLLOW_UP_OF):
        if column in columns:
            for _, cells in sheet.rows:
                text = cell_text(cells, columns[column])
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


class _Row(RowReader[Column]):
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
        return self.reference(Column.REFERENCE, normalise_reference, seen=seen, taken=limits.taken)

    def _categories(self) -> tuple[Category, ...]:
        return self.codes(Column.CATEGORIES, Category, required=True)

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


def _local(moment: dt.datetime) -> dt.date:
    return local_date(moment)


def error_lines(errors: Sequence[RowError]) -> list[str]:
    """The report, one line per error: "row 7, received_at: complaint.date_in_future (...)"."""
    return importing.error_lines(errors, MESSAGES)
