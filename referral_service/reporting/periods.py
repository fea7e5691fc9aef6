"""Report periods: a calendar year or one of its quarters, in the office's local time (Europe/Berlin).

A case belongs to the period in which its date falls on the German calendar: a referral submitted at
23:30 UTC on 31 December counts for the next year, as it does on the office's own records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from referral_service.problems import DomainError, ErrorKind
from referral_service.settings import LOCAL_TIMEZONE

REPORT_TIMEZONE = LOCAL_TIMEZONE
FIRST_YEAR = 2000
LAST_YEAR = 2100


class InvalidPeriodError(DomainError):
    code = "report.invalid_period"
    kind = ErrorKind.INVALID
    title = "The report period is invalid"


@dataclass(frozen=True, slots=True)
class Period:
    year: int
    quarter: int | None = None

    @property
    def label(self) -> str:
        """ "2026" or "2026-Q3": used in file names and audit details."""
        return f"{self.year}" if self.quarter is None else f"{self.year}-Q{self.quarter}"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 1 if self.quarter is None else 3 * self.quarter - 2, 1)

    @property
    def last_day(self) -> dt.date:
        return self._next_first_day() - dt.timedelta(days=1)

    @property
    def start(self) -> dt.datetime:
        """Inclusive start, as a UTC instant."""
        return _local_midnight(self.first_day)

    @property
    def end(self) -> dt.datetime:
        """Exclusive end, as a UTC instant."""
        return _local_midnight(self._next_first_day())

    def _next_first_day(self) -> dt.date:
        if self.quarter is None or self.quarter == 4:
            return dt.date(self.year + 1, 1, 1)
        return dt.date(self.year, 3 * self.quarter + 1, 1)


def period_of(year: int, quarter: int | None = None) -> Period:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidPeriodError(f"The year must lie between {FIRST_YEAR} and {LAST_YEAR}.")
    if quarter is not None and not 1 <= quarter <= 4:
        raise InvalidPeriodError("The quarter must be 1, 2, 3 or 4.")
    return Period(year, quarter)


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=REPORT_TIMEZONE).astimezone(dt.UTC)
