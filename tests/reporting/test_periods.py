"""Report periods follow the German calendar (Europe/Berlin), including daylight saving time."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from referral_service.reporting.periods import InvalidPeriodError, period_of
from referral_service.reporting.render import sign_or
from referral_service.reporting.tables import NOT_APPLICABLE, hours, round_fraction, share


def test_quarters_and_years_start_at_midnight_in_berlin() -> None:
    q1 = period_of(2025, 1)
    assert (q1.label, q1.first_day, q1.last_day) == ("2025-Q1", dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    assert q1.start == dt.datetime(2024, 12, 31, 23, 0, tzinfo=dt.UTC)  # CET, UTC+1
    assert q1.end == dt.datetime(2025, 3, 31, 22, 0, tzinfo=dt.UTC)  # CEST from 30 March, UTC+2
    q4 = period_of(2025, 4)
    assert (q4.first_day, q4.last_day) == (dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    assert q4.end == dt.datetime(2025, 12, 31, 23, 0, tzinfo=dt.UTC)
    year = period_of(2025)
    assert (year.label, year.start, year.end) == ("2025", q1.start, q4.end)


@pytest.mark.parametrize(("year", "quarter"), [(1999, None), (2101, None), (2025, 0), (2025, 5)])
def test_invalid_periods(year: int, quarter: int | None) -> None:
    with pytest.raises(InvalidPeriodError):
        period_of(year, quarter)


def test_shares_round_half_up_and_need_five_cases() -> None:
    assert share(1, 8) == 0.125
    assert share(4, 6) == 0.6667
    assert round_fraction(Fraction(1, 20000), 4) == 0.0001  # 0.00005 rounds up, not to even
    assert share(3, 4) is None
    assert share(None, 10) is None
    assert share(3, None) is None
    # No cases: nothing to state, which is not the same as withheld.
    assert share(0, 0) is NOT_APPLICABLE
    assert hours(None, 0) is NOT_APPLICABLE
    assert hours(7200.0, 4) is None
    assert sign_or(None, str) == "."
    assert sign_or(NOT_APPLICABLE, str) == "x"
    assert sign_or(0.3, str) == "0.3"
