"""Complaint policy in one frozen object: deadlines, calendar, limits, access throttling and the office's
contact details.

It is the complaint domain's settings: `ComplaintsConfig.from_environ` reads what operators configure
(deadlines, holiday state, rate limits, retention period, the office's contact) when the application is
built; tests pass their own with a controllable clock and generous rate limits. Defaults
are the production values, except the office's contact: a demo office, which production refuses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from complaints.working_days import State, WorkingDayCalendar
from referral_service.db import utcnow
from referral_service.identity.config import Clock, ThrottlePolicy
from referral_service.retention.policy import retention_period
from referral_service.settings import (
    ENV_PREFIX,
    LOCAL_TIMEZONE,
    SettingsError,
    email_variable,
    int_variable,
    is_production,
    lines_variable,
    require_in_production,
    variable,
)

RateUnit = Literal["second", "minute", "hour", "day"]

# Deadlines and the reference year follow the office's local calendar, not UTC.
OFFICE_TIMEZONE = LOCAL_TIMEZONE


@dataclass(frozen=True, slots=True)
class OfficeContact:
    """How complainants reach the complaints office (on the receipt and its download)."""

    name: str
    address: tuple[str, ...]
    email: str
    phone: str | None = None


# Development and tests only, marked as a demo wherever it shows; production names its own office.
DEMO_OFFICE = OfficeContact(
    name="Beispiel-Beschwerdestelle der Polizei (Demo)",
    address=("Postfach 10 00 00", "01099 Beispielstadt"),
    email="beschwerdestelle@beispiel-betreiber.example",
    phone="0351 0000001 (Demo)",
)
# Production must name the office; the phone is optional.
OFFICE_REQUIRED = ("COMPLAINT_OFFICE_NAME", "COMPLAINT_OFFICE_ADDRESS", "COMPLAINT_OFFICE_EMAIL")


@dataclass(frozen=True, slots=True)
class ComplaintsConfig:
    clock: Clock = utcnow
    # Working days: the state whose public holidays count, plus office closures (24 and 31 December).
    state: State = State.SAXONY
    extra_closures: frozenset[dt.date] = frozenset()
    # The office answers within this many working days of receipt; the clock stops while a statement
    # from a police unit is outstanding.
    answer_deadline_working_days: int = 20
    # Default deadline for a police unit's statement, when the handler sets none.
    statement_deadline_working_days: int = 10
    # "Due soon" in the queue and the lead's workload: the deadline falls within this many working days.
    due_soon_working_days: int = 5
    # Whoever must act is reminded once when the answer deadline or a statement request's deadline falls
    # within this many working days (a notification; the deadline job runs hourly).
    remind_working_days: int = 3

    session_lifetime: dt.timedelta = dt.timedelta(minutes=30)
    # Failed access attempts per client address (in the database, so every instance counts them): 20
    # free, then locks from 1 minute doubling to 1 hour. Deliberately none per reference: references
    # are sequential, and a lock on one would let anybody keep its complainant out (docs/threat-model.md).
    client_throttle: ThrottlePolicy = field(default_factory=lambda: ThrottlePolicy(free_failures=20))

    # Per client address, in front of the public routes (Litestar's rate-limit middleware).
    intake_rate_limit: tuple[RateUnit, int] = ("hour", 20)
    access_rate_limit: tuple[RateUnit, int] = ("minute", 60)
    # Litestar store names; in Redis when REFERRAL_REDIS_URL is set (referral_service/stores.py), else
    # in each process's memory.
    intake_rate_limit_store: str = "complaints_intake_rate_limit"
    access_rate_limit_store: str = "complaints_access_rate_limit"

    # Sizes (text lengths are fixed in schemas.py). The longest valid JSON body (20,000 characters of
    # description, each an escaped surrogate pair, plus the other fields) stays below this.
    max_json_body_bytes: int = 512 * 1024
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_attachments: int = 5

    # Personal data of a finished complaint is erased this long after it was closed.
    retention_period: dt.timedelta = dt.timedelta(days=1095)

    # The office's contact, shown to complainants with their access code.
    office: OfficeContact = DEMO_OFFICE

    # The earliest date a complaint can have been received (the Saxon office opened on 5 January 2016):
    # back-dated entry and the bulk import of past years refuse anything earlier, a typed year (1017)
    # would otherwise land in a report nobody asked for.
    office_opened_on: dt.date = dt.date(2016, 1, 5)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ComplaintsConfig:
        """What operators configure through REFERRAL_COMPLAINT_* variables and
        REFERRAL_RETENTION_COMPLAINT_DAYS; the rest keeps its defaults."""
        require_in_production(environ, OFFICE_REQUIRED)
        return cls(
            state=_holiday_state(variable(environ, "COMPLAINT_HOLIDAY_STATE") or State.SAXONY.value),
            answer_deadline_working_days=int_variable(
                environ, "COMPLAINT_ANSWER_DEADLINE_WORKING_DAYS", 20, minimum=1, maximum=250
            ),
            statement_deadline_working_days=int_variable(
                environ, "COMPLAINT_STATEMENT_DEADLINE_WORKING_DAYS", 10, minimum=1, maximum=250
            ),
            remind_working_days=int_variable(
                environ, "COMPLAINT_DEADLINE_REMIND_WORKING_DAYS", 3, minimum=1, maximum=250
            ),
            intake_rate_limit=(
                "hour",
                int_variable(environ, "COMPLAINT_SUBMISSIONS_PER_HOUR", 20, minimum=1, maximum=100_000),
            ),
            access_rate_limit=(
                "minute",
                int_variable(environ, "COMPLAINT_ACCESS_ATTEMPTS_PER_MINUTE", 60, minimum=1, maximum=100_000),
            ),
            retention_period=retention_period(environ, "RETENTION_COMPLAINT_DAYS", 1095),
            office=_office(environ),
            office_opened_on=_date_variable(environ, "COMPLAINT_OFFICE_OPENED_ON", dt.date(2016, 1, 5)),
        )

    def now(self) -> dt.datetime:
        return self.clock()

    def today(self) -> dt.date:
        return self.now().astimezone(OFFICE_TIMEZONE).date()

    def local_date(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(OFFICE_TIMEZONE).date()

    @property
    def calendar(self) -> WorkingDayCalendar:
        return WorkingDayCalendar(self.state, self.extra_closures)


def _office(environ: Mapping[str, str]) -> OfficeContact:
    """The office's contact; in development each unset part keeps the demo value (production has
    refused a start without them, see `OFFICE_REQUIRED`)."""
    phone = variable(environ, "COMPLAINT_OFFICE_PHONE")
    return OfficeContact(
        name=(variable(environ, "COMPLAINT_OFFICE_NAME") or DEMO_OFFICE.name).strip(),
        address=lines_variable(environ, "COMPLAINT_OFFICE_ADDRESS") or DEMO_OFFICE.address,
        email=email_variable(environ, "COMPLAINT_OFFICE_EMAIL") or DEMO_OFFICE.email,
        phone=phone.strip() if phone else (None if is_production(environ) else DEMO_OFFICE.phone),
    )


def _date_variable(environ: Mapping[str, str], name: str, default: dt.date) -> dt.date:
    """REFERRAL_<name> as an ISO date (2016-01-05); `SettingsError` names the variable, never the value."""
    value = variable(environ, name)
    if value is None:
        return default
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise SettingsError(f"{ENV_PREFIX}{name} must be an ISO date such as 2016-01-05") from None


def _holiday_state(code: str) -> State:
    try:
        return State(code.strip().upper())
    except ValueError:
        raise SettingsError(
            f"{ENV_PREFIX}COMPLAINT_HOLIDAY_STATE must be a federal state code such as SN or BY"
        ) from None
