"""Checking an import file's referrals; no database here (what the checks need from it, the units' codes,
the references already taken and the routing table's answer, comes in as arguments).

Reading the file, its limits, the header, the cells and the report are the kernel's
(`referral_service.importing`, shared with the complaints' import); the columns and rules here are the
referrals'. An error names row, column and code, never a cell's content.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from referral_service import importing, references
from referral_service.importing import Cell, RowError, RowReader, Sheet, cell_text, local_date
from referral_service.referrals.domain import (
    CLOSE_FROM,
    CloseOutcome,
    ConsentForm,
    ConsentGiver,
    ContactChannel,
    DeclineReason,
    OffenceCategory,
    ReferralStatus,
    SupportKind,
    Urgency,
)
from referral_service.referrals.service.intake import INCIDENT_IN_FUTURE, REFERENCE_PREFIX, incident_errors
from referral_service.values import DATE, DAY_OR_MONTH, EMAIL, PHONE, POSTCODE

# The kernel's limits, here so that a test can lower them for this import alone.
MAX_FILE_BYTES = importing.MAX_FILE_BYTES
MAX_ROWS = importing.MAX_ROWS

DATE_IN_FUTURE = "import.date_in_future"
BEFORE_START = "import.before_start"
DATE_ORDER = "import.date_order"
WITHDRAWN_PERSONAL = "import.withdrawn_personal"


class Column(StrEnum):
    REFERENCE = "reference"
    SUBMITTED_AT = "submitted_at"
    STATION = "station"
    BRANCH = "branch"
    STATUS = "status"
    ACCEPTED_AT = "accepted_at"
    FIRST_CONTACT_AT = "first_contact_at"
    CLOSED_AT = "closed_at"
    DECLINED_AT = "declined_at"
    WITHDRAWN_AT = "withdrawn_at"
    CLOSE_OUTCOME = "close_outcome"
    DECLINE_REASON = "decline_reason"
    OFFENCE_CATEGORY = "offence_category"
    INCIDENT_DATE = "incident_date"
    HATE_CRIME = "hate_crime"
    URGENCY = "urgency"
    LANGUAGE = "language"
    INTERPRETER_NEEDED = "interpreter_needed"
    REQUESTED_SUPPORT = "requested_support"
    SUPPORT_GIVEN = "support_given"
    CONSENT_GIVEN_BY = "consent_given_by"
    CONSENT_FORM = "consent_form"
    CONSENT_GIVEN_AT = "consent_given_at"
    # Personal data: sealed under the referral's data key.
    VICTIM_NAME = "victim_name"
    DATE_OF_BIRTH = "date_of_birth"
    PHONE = "phone"
    EMAIL = "email"
    STREET_ADDRESS = "street_address"
    POSTCODE = "postcode"
    CITY = "city"
    PREFERRED_CHANNEL = "preferred_channel"
    CONTACT_PREFERENCES = "contact_preferences"
    ACCESSIBILITY_NEEDS = "accessibility_needs"
    CIRCUMSTANCES = "circumstances"
    CASE_NUMBER = "case_number"


C = Column
REQUIRED = (
    C.SUBMITTED_AT,
    C.STATION,
    C.STATUS,
    C.OFFENCE_CATEGORY,
    C.INCIDENT_DATE,
    C.CONSENT_GIVEN_BY,
    C.CONSENT_FORM,
)
# Sealed as they are (the column's name is the model's); the incident day is sealed too (below).
PERSONAL = (
    C.VICTIM_NAME,
    C.DATE_OF_BIRTH,
    C.PHONE,
    C.EMAIL,
    C.STREET_ADDRESS,
    C.POSTCODE,
    C.CITY,
    C.PREFERRED_CHANNEL,
    C.CONTACT_PREFERENCES,
    C.ACCESSIBILITY_NEEDS,
    C.CIRCUMSTANCES,
    C.CASE_NUMBER,
)
# The limits of a referral entered by hand (referrals/schemas.py).
_MAX_LENGTH = {C.CIRCUMSTANCES: 10_000, C.CASE_NUMBER: 40}
_TEXT_LENGTH = 200

# The dates of the steps, in the order they happen, and which a status needs and allows.
STEPS = (C.SUBMITTED_AT, C.ACCEPTED_AT, C.FIRST_CONTACT_AT, C.CLOSED_AT)
S = ReferralStatus
NEEDS: Mapping[ReferralStatus, frozenset[Column]] = {
    S.SUBMITTED: frozenset(),
    S.ACCEPTED: frozenset({C.ACCEPTED_AT}),
    S.CONTACT_ATTEMPTED: frozenset({C.ACCEPTED_AT}),
    S.IN_CONTACT: frozenset({C.ACCEPTED_AT, C.FIRST_CONTACT_AT}),
    S.CLOSED: frozenset({C.ACCEPTED_AT, C.CLOSED_AT}),
    S.DECLINED_BY_BRANCH: frozenset({C.DECLINED_AT}),
    S.WITHDRAWN: frozenset({C.WITHDRAWN_AT}),
}
ALLOWS: Mapping[ReferralStatus, frozenset[Column]] = {
    **NEEDS,
    # Closed after contact or without; consent can be withdrawn in every open state.
    S.CLOSED: frozenset({C.ACCEPTED_AT, C.FIRST_CONTACT_AT, C.CLOSED_AT}),
    S.WITHDRAWN: frozenset({C.ACCEPTED_AT, C.FIRST_CONTACT_AT, C.WITHDRAWN_AT}),
}
_STEP_DATES = (C.ACCEPTED_AT, C.FIRST_CONTACT_AT, C.CLOSED_AT, C.DECLINED_AT, C.WITHDRAWN_AT)

# Header names as an office's own spreadsheet may have them (compared in lower case, spaces and
# hyphens read as underscores).
GERMAN_HEADERS: Mapping[str, Column] = {
    "aktenzeichen": C.REFERENCE,
    "eingang": C.SUBMITTED_AT,
    "dienststelle": C.STATION,
    "außenstelle": C.BRANCH,
    "angenommen": C.ACCEPTED_AT,
    "erstkontakt": C.FIRST_CONTACT_AT,
    "abschluss": C.CLOSED_AT,
    "abgelehnt": C.DECLINED_AT,
    "widerruf": C.WITHDRAWN_AT,
    "ergebnis": C.CLOSE_OUTCOME,
    "ablehnungsgrund": C.DECLINE_REASON,
    "deliktsbereich": C.OFFENCE_CATEGORY,
    "tatdatum": C.INCIDENT_DATE,
    "hasskriminalität": C.HATE_CRIME,
    "dringlichkeit": C.URGENCY,
    "sprache": C.LANGUAGE,
    "dolmetscher": C.INTERPRETER_NEEDED,
    "gewünschte_hilfe": C.REQUESTED_SUPPORT,
    "geleistete_hilfe": C.SUPPORT_GIVEN,
    "einwilligung_durch": C.CONSENT_GIVEN_BY,
    "einwilligungsform": C.CONSENT_FORM,
    "einwilligung_am": C.CONSENT_GIVEN_AT,
    "name": C.VICTIM_NAME,
    "geburtsdatum": C.DATE_OF_BIRTH,
    "telefon": C.PHONE,
    "e_mail": C.EMAIL,
    "straße": C.STREET_ADDRESS,
    "plz": C.POSTCODE,
    "ort": C.CITY,
    "kontaktweg": C.PREFERRED_CHANNEL,
    "kontaktwünsche": C.CONTACT_PREFERENCES,
    "barrierefreiheit": C.ACCESSIBILITY_NEEDS,
    "sachverhalt": C.CIRCUMSTANCES,
    "vorgangsnummer": C.CASE_NUMBER,
}
_HEADERS: Mapping[str, Column] = {**{column.value: column for column in Column}, **GERMAN_HEADERS}

MESSAGES: Mapping[str, str] = importing.messages(
    "docs/referrals.md",
    {
        "import.bad_reference": "Not a referral reference (VM-2017-000123).",
        "import.reference_year": "The reference's year is not the year of submission.",
        "import.reference_taken": "A stored referral has this reference already.",
        "import.unknown_unit": "No police station (station) or WEISSER RING branch (branch) has this code.",
        "import.not_applicable": "Not with this status or outcome (see docs/referrals.md).",
        "import.too_long": "The text is longer than a referral entered by hand may have.",
        DATE_IN_FUTURE: "The date lies in the future.",
        BEFORE_START: "The date lies before the referrals started (REFERRAL_REFERRALS_STARTED_ON).",
        DATE_ORDER: (
            "The date lies before an earlier step (consent <= submitted <= accepted <= contact <= closed)."
        ),
        INCIDENT_IN_FUTURE: "The incident date lies in the future.",
        WITHDRAWN_PERSONAL: "Consent was withdrawn: a withdrawn referral keeps no personal data.",
        DAY_OR_MONTH.code: "Not a date (2017-03-14) or month (2017-03).",
        DATE.code: "Not a date.",
        EMAIL.code: "Not an e-mail address.",
        PHONE.code: "Not a phone number.",
        POSTCODE.code: "Not a postcode (five digits).",
    },
)


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One referral as checked."""

    row: int
    reference: str | None
    status: ReferralStatus
    station: str
    branch: str | None
    submitted_at: dt.datetime
    accepted_at: dt.datetime | None
    first_contact_at: dt.datetime | None
    closed_at: dt.datetime | None
    declined_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
    close_outcome: CloseOutcome | None
    decline_reason: DeclineReason | None
    offence: OffenceCategory
    incident: str  # YYYY-MM-DD or YYYY-MM
    hate_crime: bool
    urgency: Urgency
    language: str
    interpreter_needed: bool
    requested_support: tuple[SupportKind, ...]
    support_given: tuple[SupportKind, ...]
    consent_given_by: ConsentGiver
    consent_form: ConsentForm
    consent_given_at: dt.datetime
    # Column name -> text, only what the file gives.
    personal: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Limits:
    """What the checks need from outside the file."""

    now: dt.datetime
    # REFERRAL_REFERRALS_STARTED_ON: no referral before it (None: no floor).
    started_on: dt.date | None
    stations: Collection[str]
    branches: Collection[str]
    taken: Collection[str]


def read_sheet(path: Path) -> tuple[Sheet | None, list[RowError]]:
    return importing.read_sheet(path, max_bytes=MAX_FILE_BYTES, max_rows=MAX_ROWS)


def columns_of(header: Sequence[Cell]) -> tuple[dict[Column, int], list[RowError]]:
    return importing.columns_of(header, _HEADERS, REQUIRED)


def normalise_reference(raw: str) -> str | None:
    return references.normalise(REFERENCE_PREFIX, raw)


def references_in(sheet: Sheet, columns: Mapping[Column, int]) -> set[str]:
    """Every well-formed reference the file names."""
    if C.REFERENCE not in columns:
        return set()
    found = (normalise_reference(cell_text(cells, columns[C.REFERENCE])) for _, cells in sheet.rows)
    return {reference for reference in found if reference is not None}


def check_rows(
    sheet: Sheet, columns: Mapping[Column, int], limits: Limits
) -> tuple[list[ImportRow], list[RowError]]:
    """Every row checked; the rows that passed and every error found, in row order."""
    errors: list[RowError] = []
    records: list[ImportRow] = []
    seen: set[str] = set()
    for number, cells in sheet.rows:
        record = _Row(number, cells, columns, errors).check(limits, seen)
        if record is not None:
            records.append(record)
    return records, errors


class _Row(RowReader[Column]):
    def check(self, limits: Limits, seen: set[str]) -> ImportRow | None:
        reference = self._reference(limits, seen)
        status = self.code(C.STATUS, ReferralStatus, required=True)
        station = self._unit(C.STATION, limits.stations)
        branch = self._unit(C.BRANCH, limits.branches)
        submitted_at = self.moment(C.SUBMITTED_AT, required=True)
        dates = {column: self.moment(column) for column in _STEP_DATES}
        consent_at = self.moment(C.CONSENT_GIVEN_AT)
        outcome = self.code(C.CLOSE_OUTCOME, CloseOutcome)
        decline_reason = self.code(C.DECLINE_REASON, DeclineReason)
        offence = self.code(C.OFFENCE_CATEGORY, OffenceCategory, required=True)
        urgency = self.code(C.URGENCY, Urgency) or Urgency.NORMAL
        given_by = self.code(C.CONSENT_GIVEN_BY, ConsentGiver, required=True)
        form = self.code(C.CONSENT_FORM, ConsentForm, required=True)
        requested = self.codes(C.REQUESTED_SUPPORT, SupportKind)
        support_given = self.codes(C.SUPPORT_GIVEN, SupportKind)
        hate_crime = self.flag(C.HATE_CRIME)
        interpreter = self.flag(C.INTERPRETER_NEEDED)
        language = self.text(C.LANGUAGE).lower() or "de"
        if not (2 <= len(language) <= 3 and language.isascii() and language.isalpha()):
            self.fail(C.LANGUAGE, "import.unknown_code")
        incident = self._incident(limits, submitted_at)

        if status is not None:
            self._status_rules(status, dates, outcome, decline_reason, branch, support_given)
        if (
            reference is not None
            and submitted_at is not None
            and reference[3:7] != str(local_date(submitted_at).year)
        ):
            self.fail(C.REFERENCE, "import.reference_year")
        self._dates(limits, submitted_at, dates, consent_at)
        personal = self._personal(status)

        if (
            self.failed
            or status is None
            or station is None
            or submitted_at is None
            or offence is None
            or incident is None
            or given_by is None
            or form is None
        ):
            return None
        return ImportRow(
            row=self.number,
            reference=reference,
            status=status,
            station=station,
            branch=branch,
            submitted_at=submitted_at,
            accepted_at=dates[C.ACCEPTED_AT],
            first_contact_at=dates[C.FIRST_CONTACT_AT],
            closed_at=dates[C.CLOSED_AT],
            declined_at=dates[C.DECLINED_AT],
            withdrawn_at=dates[C.WITHDRAWN_AT],
            close_outcome=outcome,
            decline_reason=decline_reason,
            offence=offence,
            incident=incident,
            hate_crime=hate_crime,
            urgency=urgency,
            language=language,
            interpreter_needed=interpreter,
            requested_support=requested,
            support_given=support_given,
            consent_given_by=given_by,
            consent_form=form,
            consent_given_at=consent_at or submitted_at,
            personal=personal,
        )

    def _reference(self, limits: Limits, seen: set[str]) -> str | None:
        return self.reference(C.REFERENCE, normalise_reference, seen=seen, taken=limits.taken)

    def _unit(self, column: Column, known: Collection[str]) -> str | None:
        code = self.text(column).lower()
        if not code:
            if column is C.STATION:
                self.fail(column, "value.required")
            return None
        if code not in known:
            self.fail(column, "import.unknown_unit")
            return None
        return code

    def _status_rules(
        self,
        status: ReferralStatus,
        dates: Mapping[Column, dt.datetime | None],
        outcome: CloseOutcome | None,
        decline_reason: DeclineReason | None,
        branch: str | None,
        support_given: tuple[SupportKind, ...],
    ) -> None:
        """The dates a status needs and allows, and what only a close or a decline carries; the
        state machine's rules (domain.py) as they show in a finished case's dates."""
        for column in _STEP_DATES:
            if column in NEEDS[status]:
                self.required(column)
            elif dates[column] is not None and column not in ALLOWS[status]:
                self.fail(column, "import.not_applicable")
        if status is S.CLOSED:
            if outcome is None:
                self.required(C.CLOSE_OUTCOME)
            else:
                # Support needs a contact; "unreachable" means there was none.
                contacted = dates[C.FIRST_CONTACT_AT] is not None
                if CLOSE_FROM[outcome] == {S.IN_CONTACT} and not contacted:
                    self.required(C.FIRST_CONTACT_AT)
                elif S.IN_CONTACT not in CLOSE_FROM[outcome] and contacted:
                    self.fail(C.FIRST_CONTACT_AT, "import.not_applicable")
        else:
            if outcome is not None:
                self.fail(C.CLOSE_OUTCOME, "import.not_applicable")
            if support_given:
                self.fail(C.SUPPORT_GIVEN, "import.not_applicable")
        if status is S.DECLINED_BY_BRANCH:
            if decline_reason is None:
                self.required(C.DECLINE_REASON)
            # The branch that declined it; the case waits for the state office.
            if branch is None:
                self.required(C.BRANCH)
        elif decline_reason is not None:
            self.fail(C.DECLINE_REASON, "import.not_applicable")

    def _dates(
        self,
        limits: Limits,
        submitted_at: dt.datetime | None,
        dates: Mapping[Column, dt.datetime | None],
        consent_at: dt.datetime | None,
    ) -> None:
        given = {C.CONSENT_GIVEN_AT: consent_at, C.SUBMITTED_AT: submitted_at, **dates}
        for column, moment in given.items():
            if moment is None:
                continue
            if moment > limits.now:
                self.fail(column, DATE_IN_FUTURE)
            if limits.started_on is not None and local_date(moment) < limits.started_on:
                self.fail(column, BEFORE_START)
        # Each step after the one before it; a decline or withdrawal after everything before it.
        earlier: dt.datetime | None = consent_at
        for column in STEPS:
            moment = given[column]
            if moment is None:
                continue
            if earlier is not None and moment < earlier:
                self.fail(column, DATE_ORDER)
            earlier = moment
        last = max((moment for column, moment in given.items() if column in STEPS and moment), default=None)
        for column in (C.DECLINED_AT, C.WITHDRAWN_AT):
            moment = given[column]
            if moment is not None and last is not None and moment < last:
                self.fail(column, DATE_ORDER)

    def _incident(self, limits: Limits, submitted_at: dt.datetime | None) -> str | None:
        cell = self.raw(C.INCIDENT_DATE)
        written = cell.date().isoformat() if isinstance(cell, dt.datetime) else importing.text(cell)
        if not written:
            self.fail(C.INCIDENT_DATE, "value.required")
            return None
        written = DAY_OR_MONTH.normalise(written)
        for error in incident_errors(written, local_date(limits.now)):
            self.fail(C.INCIDENT_DATE, error.code)
            return None
        if submitted_at is not None and written > local_date(submitted_at).isoformat()[: len(written)]:
            self.fail(C.INCIDENT_DATE, DATE_ORDER)
        return written

    def _personal(self, status: ReferralStatus | None) -> dict[str, str]:
        values: dict[str, str] = {}
        checks = {C.EMAIL: EMAIL, C.PHONE: PHONE, C.POSTCODE: POSTCODE}
        for column in PERSONAL:
            cell = self.raw(column)
            written = cell.date().isoformat() if isinstance(cell, dt.datetime) else importing.text(cell)
            if not written:
                continue
            if column is C.DATE_OF_BIRTH:
                written = DATE.normalise(written)
            elif column is C.PREFERRED_CHANNEL:
                written = written.lower()
            kind = checks.get(column)
            if status is S.WITHDRAWN:
                self.fail(column, WITHDRAWN_PERSONAL)
            elif kind is not None and not kind.accepts(written):
                self.fail(column, kind.code)
            elif column is C.DATE_OF_BIRTH and not DATE.accepts(written):
                self.fail(column, DATE.code)
            elif column is C.PREFERRED_CHANNEL and written not in set(ContactChannel):
                self.fail(column, "import.unknown_code")
            elif len(written) > _MAX_LENGTH.get(column, _TEXT_LENGTH):
                self.fail(column, "import.too_long")
            values[column.value] = written
        return values


def error_lines(errors: Sequence[RowError]) -> list[str]:
    return importing.error_lines(errors, MESSAGES)
