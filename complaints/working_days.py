"""Working-day arithmetic for complaint deadlines: weekends and German public holidays do not count.

The holiday rules are those in force since 1995 (when Buß- und Bettag stopped being nationwide) plus the
dated changes since 2017; earlier years are not historically accurate. Holidays kept only in some
municipalities of a state (Fronleichnam in parts of Saxony and Thuringia, Mariä Himmelfahrt in Catholic
Bavaria, the Augsburger Friedensfest) are left out, because a state-wide office cannot rely on them.
Ostersonntag and Pfingstsonntag, legal holidays in some states, are Sundays and so change nothing here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType

_ONE_DAY = timedelta(days=1)

Pause = tuple[date, date | None]
"""(day the statement was requested, day it was received, or None while still outstanding)."""


class State(StrEnum):
    """The German federal states, valued by their ISO 3166-2:DE codes."""

    BADEN_WUERTTEMBERG = "BW"
    BAVARIA = "BY"
    BERLIN = "BE"
    BRANDENBURG = "BB"
    BREMEN = "HB"
    HAMBURG = "HH"
    HESSE = "HE"
    MECKLENBURG_WESTERN_POMERANIA = "MV"
    LOWER_SAXONY = "NI"
    NORTH_RHINE_WESTPHALIA = "NW"
    RHINELAND_PALATINATE = "RP"
    SAARLAND = "SL"
    SAXONY = "SN"
    SAXONY_ANHALT = "ST"
    SCHLESWIG_HOLSTEIN = "SH"
    THURINGIA = "TH"


_EPIPHANY = frozenset({State.BADEN_WUERTTEMBERG, State.BAVARIA, State.SAXONY_ANHALT})
_CORPUS_CHRISTI = frozenset(
    {
        State.BADEN_WUERTTEMBERG,
        State.BAVARIA,
        State.HESSE,
        State.NORTH_RHINE_WESTPHALIA,
        State.RHINELAND_PALATINATE,
        State.SAARLAND,
    }
)
_ALL_SAINTS = frozenset(
    {
        State.BADEN_WUERTTEMBERG,
        State.BAVARIA,
        State.NORTH_RHINE_WESTPHALIA,
        State.RHINELAND_PALATINATE,
        State.SAARLAND,
    }
)
_REFORMATION_DAY = frozenset(
    {
        State.BRANDENBURG,
        State.MECKLENBURG_WESTERN_POMERANIA,
        State.SAXONY,
        State.SAXONY_ANHALT,
        State.THURINGIA,
    }
)
# Holidays a state introduced later, keyed by state with the first year they applied.
_REFORMATION_DAY_SINCE: Mapping[State, int] = {
    State.BREMEN: 2018,
    State.HAMBURG: 2018,
    State.LOWER_SAXONY: 2018,
    State.SCHLESWIG_HOLSTEIN: 2018,
}
_WOMENS_DAY_SINCE: Mapping[State, int] = {State.BERLIN: 2019, State.MECKLENBURG_WESTERN_POMERANIA: 2023}
_CHILDRENS_DAY_SINCE: Mapping[State, int] = {State.THURINGIA: 2019}


def easter_sunday(year: int) -> date:
    """Easter Sunday of `year` in the Gregorian calendar (anonymous Gregorian algorithm)."""
    # The Gregorian calendar started in October 1582; `date` ends in 9999.
    if not 1583 <= year <= 9999:
        raise ValueError(f"year must be between 1583 and 9999, got {year}")
    golden = year % 19
    century, year_in_century = divmod(year, 100)
    skipped_leap_days, century_rest = divmod(century, 4)
    lunar_correction = (century + 8) // 25
    moon_shift = (century - lunar_correction + 1) // 3
    full_moon_offset = (19 * golden + century - skipped_leap_days - moon_shift + 15) % 30
    leap_years, year_rest = divmod(year_in_century, 4)
    to_sunday = (32 + 2 * century_rest + 2 * leap_years - full_moon_offset - year_rest) % 7
    # The church tables move a few late full moons back by a week so Easter never falls after 25 April.
    late_moon = (golden + 11 * full_moon_offset + 22 * to_sunday) // 451
    month, day = divmod(full_moon_offset + to_sunday - 7 * late_moon + 114, 31)
    return date(year, month, day + 1)


def _since(state: State, year: int, first_years: Mapping[State, int]) -> bool:
    first = first_years.get(state)
    return first is not None and year >= first


def _repentance_day(year: int) -> date:
    # Buß- und Bettag is the last Wednesday strictly before 23 November, i.e. between 16 and 22 November.
    latest = date(year, 11, 22)
    return latest - timedelta(days=(latest.weekday() - 2) % 7)


def public_holidays(year: int, state: State = State.SAXONY) -> Mapping[date, str]:
    """State-wide public holidays of `state` in `year`, date to German name, in date order (read-only)."""
    # Coercing here makes an unknown code fail loudly instead of silently yielding nationwide holidays only.
    return _public_holidays(year, State(state))


@lru_cache(maxsize=512)
def _public_holidays(year: int, state: State) -> Mapping[date, str]:
    easter = easter_sunday(year)
    holidays: dict[date, str] = {}

    def add(day: date, name: str) -> None:
        # Movable feasts can land on a fixed holiday (Christi Himmelfahrt on 1 May 2008): keep both names.
        holidays[day] = f"{holidays[day]} / {name}" if day in holidays else name

    add(date(year, 1, 1), "Neujahr")
    if state in _EPIPHANY:
        add(date(year, 1, 6), "Heilige Drei Könige")
    if _since(state, year, _WOMENS_DAY_SINCE):
        add(date(year, 3, 8), "Internationaler Frauentag")
    add(easter - timedelta(days=2), "Karfreitag")
    add(easter + timedelta(days=1), "Ostermontag")
    add(date(year, 5, 1), "Tag der Arbeit")
    # Berlin made the 75th and 80th anniversaries of the end of the war one-off holidays.
    if state == State.BERLIN and year in {2020, 2025}:
        add(date(year, 5, 8), "Tag der Befreiung")
    add(easter + timedelta(days=39), "Christi Himmelfahrt")
    add(easter + timedelta(days=50), "Pfingstmontag")
    if state in _CORPUS_CHRISTI:
        add(easter + timedelta(days=60), "Fronleichnam")
    if state == State.SAARLAND:
        add(date(year, 8, 15), "Mariä Himmelfahrt")
    if _since(state, year, _CHILDRENS_DAY_SINCE):
        add(date(year, 9, 20), "Weltkindertag")
    add(date(year, 10, 3), "Tag der Deutschen Einheit")
    # 2017 was the 500th anniversary of the Reformation, a one-off holiday in every state.
    if state in _REFORMATION_DAY or _since(state, year, _REFORMATION_DAY_SINCE) or year == 2017:
        add(date(year, 10, 31), "Reformationstag")
    if state in _ALL_SAINTS:
        add(date(year, 11, 1), "Allerheiligen")
    if state == State.SAXONY:
        add(_repentance_day(year), "Buß- und Bettag")
    add(date(year, 12, 25), "1. Weihnachtstag")
    add(date(year, 12, 26), "2. Weihnachtstag")
    # Read-only because the cache hands every caller the same object.
    return MappingProxyType(dict(sorted(holidays.items())))


def _require_date(*values: date) -> None:
    # A datetime is a date subclass but never equals a date, so holiday lookups would silently miss.
    for value in values:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise TypeError(f"expected a date, got {type(value).__name__}")


def _days_after(start: date, end: date) -> Iterator[date]:
    """The days d with start < d <= end."""
    for offset in range(1, (end - start).days + 1):
        yield start + timedelta(days=offset)


@dataclass(frozen=True)
class WorkingDayCalendar:
    """Working days in one state: Monday to Friday, except public holidays and `extra_holidays`."""

    state: State = State.SAXONY
    # Closures ordered for the office (e.g. 24 and 31 December) that stop deadlines like a holiday.
    extra_holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        # Normalise so that a plain "SN" or a set still gives a validated, hashable calendar.
        object.__setattr__(self, "state", State(self.state))
        object.__setattr__(self, "extra_holidays", frozenset(self.extra_holidays))
        _require_date(*self.extra_holidays)

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is a weekday that is neither a public holiday nor an extra closure."""
        _require_date(day)
        return (
            day.weekday() < 5
            and day not in self.extra_holidays
            and day not in public_holidays(day.year, self.state)
        )

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        _require_date(day)
        candidate = day + _ONE_DAY
        while not self.is_working_day(candidate):
            candidate += _ONE_DAY
        return candidate

    def add_working_days(self, start: date, days: int) -> date:
        """The deadline `days` working days after `start`; `start` itself is never counted.

        Received on a Friday with one working day, a complaint is due on Monday (or the next working day
        if Monday is a holiday). With zero days it is `start` if that is a working day, else the next one.
        """
        _require_date(start)
        if days < 0:
            raise ValueError(f"days must not be negative, got {days}")
        if days == 0:
            return start if self.is_working_day(start) else self.next_working_day(start)
        deadline = start
        for _ in range(days):
            deadline = self.next_working_day(deadline)
        return deadline

    def working_days_between(self, start: date, end: date) -> int:
        """The number of working days d with start < d <= end (0 if end <= start)."""
        _require_date(start, end)
        return sum(1 for day in _days_after(start, end) if self.is_working_day(day))


def _check_pauses(pauses: Sequence[Pause]) -> None:
    for begin, end in pauses:
        _require_date(begin)
        if end is not None:
            _require_date(end)
            if end < begin:
                raise ValueError(f"pause ends ({end}) before it begins ({begin})")


def _paused(day: date, pauses: Sequence[Pause]) -> bool:
    # Testing membership rather than summing lengths is what keeps overlapping pauses from counting twice.
    return any(begin < day and (end is None or day <= end) for begin, end in pauses)


def deadline_with_pauses(
    calendar: WorkingDayCalendar, start: date, days: int, pauses: Sequence[Pause]
) -> date | None:
    """The deadline `days` working days after `start` when the clock stops during `pauses`.

    A pause (begin, end) runs from the day a statement is requested from a police unit to the day it is
    received. Working days d with begin < d <= end do not count: the request day still counts (the clock
    ran that day) and counting resumes the day after the statement arrived, just as the day a complaint is
    received is not counted. A day inside several overlapping pauses is skipped once. An open pause (end
    None) stops the clock for good after `begin`, so the result is None unless the deadline was already
    reached by `begin`. Without pauses this equals `calendar.add_working_days(start, days)`.
    """
    _require_date(start)
    if days < 0:
        raise ValueError(f"days must not be negative, got {days}")
    _check_pauses(pauses)
    stopped_after = min((begin for begin, end in pauses if end is None), default=None)

    def counts(day: date) -> bool:
        return calendar.is_working_day(day) and not _paused(day, pauses)

    if days == 0 and counts(start):
        return start
    # A zero-day deadline starting on a day that does not count falls due on the next day that does.
    remaining = max(days, 1)
    day = start
    while True:
        day += _ONE_DAY
        if stopped_after is not None and day > stopped_after:
            return None
        if counts(day):
            remaining -= 1
            if remaining == 0:
                return day


def business_days_elapsed(
    calendar: WorkingDayCalendar, start: date, today: date, pauses: Sequence[Pause]
) -> int:
    """Working days d with start < d <= today that count towards the deadline under the pause rules.

    A deadline of n >= 1 days has been missed once this exceeds n; at the deadline itself it equals n.
    """
    _require_date(start, today)
    _check_pauses(pauses)
    return sum(
        1 for day in _days_after(start, today) if calendar.is_working_day(day) and not _paused(day, pauses)
    )
