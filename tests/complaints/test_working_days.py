"""Deadlines in working days: Easter, state holidays, calendar arithmetic and paused clocks.

Expected dates are worked out by hand against a printed calendar, never with the code under test.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from complaints.working_days import (
    Pause,
    State,
    WorkingDayCalendar,
    business_days_elapsed,
    deadline_with_pauses,
    easter_sunday,
    public_holidays,
)

SAXONY = WorkingDayCalendar()
BAVARIA = WorkingDayCalendar(State.BAVARIA)
OTHER_STATES = [state for state in State if state != State.SAXONY]

NATIONWIDE_2026 = {
    date(2026, 1, 1): "Neujahr",
    date(2026, 4, 3): "Karfreitag",
    date(2026, 4, 6): "Ostermontag",
    date(2026, 5, 1): "Tag der Arbeit",
    date(2026, 5, 14): "Christi Himmelfahrt",
    date(2026, 5, 25): "Pfingstmontag",
    date(2026, 10, 3): "Tag der Deutschen Einheit",
    date(2026, 12, 25): "1. Weihnachtstag",
    date(2026, 12, 26): "2. Weihnachtstag",
}

search_dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


# --- Easter -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expected",
    [
        date(2024, 3, 31),
        date(2025, 4, 20),
        date(2026, 4, 5),
        date(2027, 3, 28),
        date(2038, 4, 25),  # latest possible date
        date(2285, 3, 22),  # earliest possible date
        date(1818, 3, 22),
        date(1943, 4, 25),
        # Years where the Paschal full moon is moved back a week (the two exceptions in Gauss's rule).
        date(1954, 4, 18),
        date(1981, 4, 19),
        date(2049, 4, 18),
        date(2076, 4, 19),
    ],
)
def test_easter_sunday_known_dates(expected: date) -> None:
    assert easter_sunday(expected.year) == expected


@given(st.integers(min_value=1583, max_value=9999))
def test_easter_is_a_sunday_between_22_march_and_25_april(year: int) -> None:
    easter = easter_sunday(year)
    assert easter.weekday() == 6
    assert date(year, 3, 22) <= easter <= date(year, 4, 25)


@pytest.mark.parametrize("year", [1582, 10_000])
def test_easter_outside_the_gregorian_range_is_refused(year: int) -> None:
    with pytest.raises(ValueError, match="year must be between"):
        easter_sunday(year)


# --- Public holidays ----------------------------------------------------------------------------------------


def test_state_codes_are_iso_3166_2() -> None:
    assert sorted(State) == sorted(
        ["BW", "BY", "BE", "BB", "HB", "HH", "HE", "MV", "NI", "NW", "RP", "SL", "SN", "ST", "SH", "TH"]
    )
    assert State.SAXONY.value == "SN"
    assert State.BAVARIA.value == "BY"


def test_saxony_2026_holidays_exactly() -> None:
    assert dict(public_holidays(2026)) == {
        **NATIONWIDE_2026,
        date(2026, 10, 31): "Reformationstag",
        date(2026, 11, 18): "Buß- und Bettag",
    }


def test_holidays_come_in_date_order() -> None:
    days = list(public_holidays(2026, State.BAVARIA))
    assert days == sorted(days)


@pytest.mark.parametrize("state", list(State))
def test_nationwide_holidays_in_every_state(state: State) -> None:
    holidays = public_holidays(2026, state)
    for day, name in NATIONWIDE_2026.items():
        assert holidays[day] == name


def test_corpus_christi_2026_in_bavaria_but_not_saxony() -> None:
    corpus_christi = date(2026, 6, 4)
    assert corpus_christi not in public_holidays(2026, State.SAXONY)
    assert public_holidays(2026, State.BAVARIA)[corpus_christi] == "Fronleichnam"
    assert SAXONY.is_working_day(corpus_christi)
    assert not BAVARIA.is_working_day(corpus_christi)


@pytest.mark.parametrize(
    "day",
    [
        date(2022, 11, 16),  # 23 November is itself a Wednesday, so the holiday is a week earlier
        date(2023, 11, 22),
        date(2024, 11, 20),
        date(2025, 11, 19),
        date(2026, 11, 18),
        date(2027, 11, 17),
    ],
)
def test_repentance_day_in_saxony_only(day: date) -> None:
    assert public_holidays(day.year, State.SAXONY)[day] == "Buß- und Bettag"
    assert not SAXONY.is_working_day(day)
    for state in OTHER_STATES:
        assert "Buß- und Bettag" not in public_holidays(day.year, state).values(), state
        assert WorkingDayCalendar(state).is_working_day(day), state


@pytest.mark.parametrize(
    ("state", "day", "name", "is_holiday"),
    [
        (State.BRANDENBURG, date(2026, 10, 31), "Reformationstag", True),
        (State.BADEN_WUERTTEMBERG, date(2026, 10, 31), "Reformationstag", False),
        (State.BADEN_WUERTTEMBERG, date(2017, 10, 31), "Reformationstag", True),  # 500th anniversary
        (State.BREMEN, date(2016, 10, 31), "Reformationstag", False),
        (State.BREMEN, date(2018, 10, 31), "Reformationstag", True),
        (State.BERLIN, date(2024, 3, 8), "Internationaler Frauentag", True),
        (State.BERLIN, date(2018, 3, 8), "Internationaler Frauentag", False),
        (State.MECKLENBURG_WESTERN_POMERANIA, date(2022, 3, 8), "Internationaler Frauentag", False),
        (State.MECKLENBURG_WESTERN_POMERANIA, date(2023, 3, 8), "Internationaler Frauentag", True),
        (State.SAXONY, date(2024, 3, 8), "Internationaler Frauentag", False),
        (State.THURINGIA, date(2025, 9, 20), "Weltkindertag", True),
        (State.THURINGIA, date(2018, 9, 20), "Weltkindertag", False),
        (State.SAXONY, date(2025, 9, 20), "Weltkindertag", False),
        (State.BERLIN, date(2020, 5, 8), "Tag der Befreiung", True),
        (State.BERLIN, date(2025, 5, 8), "Tag der Befreiung", True),
        (State.BERLIN, date(2024, 5, 8), "Tag der Befreiung", False),
        (State.SAXONY, date(2025, 5, 8), "Tag der Befreiung", False),
        (State.SAXONY_ANHALT, date(2026, 1, 6), "Heilige Drei Könige", True),
        (State.SAXONY, date(2026, 1, 6), "Heilige Drei Könige", False),
        (State.SAARLAND, date(2026, 8, 15), "Mariä Himmelfahrt", True),
        (State.BAVARIA, date(2026, 8, 15), "Mariä Himmelfahrt", False),  # only in Catholic municipalities
        (State.NORTH_RHINE_WESTPHALIA, date(2026, 11, 1), "Allerheiligen", True),
        (State.SAXONY, date(2026, 11, 1), "Allerheiligen", False),
        (State.THURINGIA, date(2026, 6, 4), "Fronleichnam", False),  # only in parts of Thuringia
        (State.HESSE, date(2026, 6, 4), "Fronleichnam", True),
    ],
)
def test_state_holidays(state: State, day: date, name: str, is_holiday: bool) -> None:
    holidays = public_holidays(day.year, state)
    assert (holidays.get(day) == name) is is_holiday
    if not is_holiday:
        assert day not in holidays


def test_weekday_state_holidays_stop_the_clock() -> None:
    # Friday 8 March 2024 in Berlin, Friday 20 September 2024 in Thuringia: both due the Monday after.
    assert WorkingDayCalendar(State.BERLIN).add_working_days(date(2024, 3, 7), 1) == date(2024, 3, 11)
    assert WorkingDayCalendar(State.THURINGIA).add_working_days(date(2024, 9, 19), 1) == date(2024, 9, 23)
    assert SAXONY.add_working_days(date(2024, 9, 19), 1) == date(2024, 9, 20)


def test_coinciding_holidays_keep_both_names() -> None:
    # Easter 2008 was 23 March, so Ascension (+39 days) fell on 1 May.
    assert public_holidays(2008)[date(2008, 5, 1)] == "Tag der Arbeit / Christi Himmelfahrt"


def test_reformation_day_2017_is_not_listed_twice_where_it_is_a_holiday_anyway() -> None:
    assert public_holidays(2017, State.SAXONY)[date(2017, 10, 31)] == "Reformationstag"


def test_holidays_are_read_only_and_cached() -> None:
    holidays = public_holidays(2026)
    with pytest.raises(TypeError):
        holidays[date(2026, 7, 1)] = "Sommerfest"  # type: ignore[index]
    assert public_holidays(2026, State.SAXONY) is holidays
    assert date(2026, 7, 1) not in public_holidays(2026)


def test_unknown_state_code_is_refused() -> None:
    with pytest.raises(ValueError, match="XX"):
        public_holidays(2026, "XX")  # type: ignore[arg-type]
    assert public_holidays(2026, "BY") is public_holidays(2026, State.BAVARIA)  # type: ignore[arg-type]


# --- Working-day calendar -----------------------------------------------------------------------------------


def test_deadline_over_repentance_day_2026() -> None:
    # From Mon 16 Nov: Tue 17 (1), Wed 18 Buß- und Bettag skipped, Thu 19 (2), Fri 20 (3), weekend,
    # Mon 23 (4), Tue 24 (5). Bavaria counts the Wednesday, so there day 5 is Mon 23.
    assert SAXONY.add_working_days(date(2026, 11, 16), 5) == date(2026, 11, 24)
    assert BAVARIA.add_working_days(date(2026, 11, 16), 5) == date(2026, 11, 23)


def test_deadline_over_christmas_2026() -> None:
    # From Wed 23 Dec: Thu 24 (1; Christmas Eve is no public holiday), Fri 25 and Sat 26 holidays,
    # Sun 27, Mon 28 (2), Tue 29 (3).
    assert SAXONY.is_working_day(date(2026, 12, 24))
    assert SAXONY.add_working_days(date(2026, 12, 23), 3) == date(2026, 12, 29)


def test_deadline_over_new_year_2027() -> None:
    # From Wed 30 Dec 2026: Thu 31 (1), Fri 1 Jan Neujahr, weekend, Mon 4 Jan (2), Tue 5 (3).
    # The holiday lookup has to switch to the new year's table on the way.
    assert SAXONY.add_working_days(date(2026, 12, 30), 3) == date(2027, 1, 5)


def test_deadline_over_easter_2027() -> None:
    # Easter Sunday is 28 March 2027. From Thu 25 Mar: Fri 26 Karfreitag, weekend, Mon 29 Ostermontag,
    # Tue 30 (1), Wed 31 (2).
    assert SAXONY.add_working_days(date(2027, 3, 25), 2) == date(2027, 3, 31)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2026, 6, 5), 1, date(2026, 6, 8)),  # Friday + 1 is Monday
        (date(2026, 5, 22), 1, date(2026, 5, 26)),  # Friday + 1, but Monday is Pfingstmontag
        (date(2026, 4, 2), 1, date(2026, 4, 7)),  # Thursday before Easter: Fri and Mon are holidays
        (date(2026, 6, 6), 1, date(2026, 6, 8)),  # received Saturday
        (date(2026, 6, 7), 1, date(2026, 6, 8)),  # received Sunday
        (date(2026, 6, 6), 5, date(2026, 6, 12)),  # Saturday + a working week
        (date(2026, 6, 3), 1, date(2026, 6, 4)),  # Fronleichnam is a working day in Saxony
        (date(2026, 6, 8), 0, date(2026, 6, 8)),  # zero days on a working day: that day
        (date(2026, 6, 6), 0, date(2026, 6, 8)),  # zero days on a Saturday: the next working day
        (date(2026, 12, 25), 0, date(2026, 12, 28)),  # zero days on a holiday
    ],
)
def test_add_working_days(start: date, days: int, expected: date) -> None:
    assert SAXONY.add_working_days(start, days) == expected


def test_bavaria_friday_after_corpus_christi() -> None:
    assert BAVARIA.add_working_days(date(2026, 6, 3), 1) == date(2026, 6, 5)


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        SAXONY.add_working_days(date(2026, 6, 8), -1)
    with pytest.raises(ValueError, match="negative"):
        deadline_with_pauses(SAXONY, date(2026, 6, 8), -1, [])


def test_datetimes_are_refused() -> None:
    # A datetime never equals a date, so it would slip past every holiday unnoticed.
    with pytest.raises(TypeError, match="datetime"):
        SAXONY.is_working_day(datetime(2026, 12, 25, 9, 30))
    with pytest.raises(TypeError, match="datetime"):
        SAXONY.working_days_between(datetime(2026, 12, 25, 9, 30), datetime(2026, 12, 20, 9, 30))


def test_next_working_day_is_strictly_after() -> None:
    assert SAXONY.next_working_day(date(2026, 6, 8)) == date(2026, 6, 9)
    assert SAXONY.next_working_day(date(2026, 12, 24)) == date(2026, 12, 28)


def test_working_days_between() -> None:
    # Tue 17 to Fri 20 Nov 2026 and Mon 23, Tue 24; Wed 18 is Buß- und Bettag.
    assert SAXONY.working_days_between(date(2026, 11, 16), date(2026, 11, 24)) == 5
    assert SAXONY.working_days_between(date(2026, 11, 16), date(2026, 11, 16)) == 0
    assert SAXONY.working_days_between(date(2026, 11, 24), date(2026, 11, 16)) == 0
    # 2027 has 261 weekdays (52 weeks and Friday 31 Dec); Neujahr, Karfreitag, Ostermontag, Himmelfahrt,
    # Pfingstmontag and Buß- und Bettag fall on weekdays, the other five holidays on weekends.
    assert SAXONY.working_days_between(date(2026, 12, 31), date(2027, 12, 31)) == 255


def test_extra_holidays_are_honoured() -> None:
    closure = date(2026, 6, 10)
    calendar = WorkingDayCalendar(extra_holidays=frozenset({closure}))
    assert not calendar.is_working_day(closure)
    assert SAXONY.is_working_day(closure)
    # From Mon 8 Jun, 10 working days end Mon 22 Jun; the Wednesday closure pushes that to Tue 23.
    assert SAXONY.add_working_days(date(2026, 6, 8), 10) == date(2026, 6, 22)
    assert calendar.add_working_days(date(2026, 6, 8), 10) == date(2026, 6, 23)
    assert calendar.working_days_between(date(2026, 6, 8), date(2026, 6, 23)) == 10
    assert deadline_with_pauses(calendar, date(2026, 6, 8), 10, []) == date(2026, 6, 23)


def test_calendar_normalises_its_fields() -> None:
    calendar = WorkingDayCalendar("BY", {date(2026, 6, 10)})  # type: ignore[arg-type]
    assert calendar == WorkingDayCalendar(State.BAVARIA, frozenset({date(2026, 6, 10)}))
    assert hash(calendar) == hash(WorkingDayCalendar(State.BAVARIA, frozenset({date(2026, 6, 10)})))
    with pytest.raises(ValueError, match="XX"):
        WorkingDayCalendar("XX")  # type: ignore[arg-type]


@given(start=search_dates, days=st.integers(min_value=1, max_value=60))
def test_working_days_between_inverts_add_working_days(start: date, days: int) -> None:
    deadline = SAXONY.add_working_days(start, days)
    assert SAXONY.is_working_day(deadline)
    assert SAXONY.working_days_between(start, deadline) == days
    assert SAXONY.working_days_between(start, deadline - timedelta(days=1)) == days - 1


@given(start=search_dates)
def test_zero_days_is_the_first_working_day_from_start(start: date) -> None:
    deadline = SAXONY.add_working_days(start, 0)
    assert SAXONY.is_working_day(deadline)
    assert SAXONY.working_days_between(start, deadline) == (0 if deadline == start else 1)


@given(first=search_dates, gap=st.integers(0, 400), more=st.integers(0, 400))
def test_working_days_between_adds_up(first: date, gap: int, more: int) -> None:
    middle = first + timedelta(days=gap)
    last = middle + timedelta(days=more)
    assert SAXONY.working_days_between(first, middle) + SAXONY.working_days_between(
        middle, last
    ) == SAXONY.working_days_between(first, last)


# --- Paused clocks ------------------------------------------------------------------------------------------

START = date(2026, 6, 8)  # Monday; June 2026 has no Saxon holiday
# Counting from Tue 9 Jun, 10 working days end on Mon 22 Jun.
PLAIN_DEADLINE = date(2026, 6, 22)
# Requested Fri 12 Jun, received Fri 19 Jun: Mon 15 to Fri 19 (5 working days) do not count.
PAUSE_BEGIN, PAUSE_END = date(2026, 6, 12), date(2026, 6, 19)
WEEK_PAUSE: Pause = (PAUSE_BEGIN, PAUSE_END)


def test_no_pauses_matches_add_working_days() -> None:
    assert deadline_with_pauses(SAXONY, START, 10, []) == PLAIN_DEADLINE


def test_a_week_long_pause_extends_by_its_working_days() -> None:
    # Counted: 9, 10, 11, 12 Jun (the request day still counts), then 22, 23, 24, 25, 26 and 29 Jun.
    deadline = deadline_with_pauses(SAXONY, START, 10, [WEEK_PAUSE])
    assert deadline == date(2026, 6, 29)
    paused_working_days = SAXONY.working_days_between(PAUSE_BEGIN, PAUSE_END)
    assert paused_working_days == 5
    assert deadline == SAXONY.add_working_days(PLAIN_DEADLINE, paused_working_days)


def test_pause_over_a_holiday_does_not_skip_it_twice() -> None:
    # From Mon 16 Nov 2026, 5 days is Tue 24 Nov. Requested Tue 17 (still counts), received Thu 19:
    # the pause covers Wed 18, a holiday anyway, and Thu 19, so one working day is lost: due Wed 25.
    pause: Pause = (date(2026, 11, 17), date(2026, 11, 19))
    assert deadline_with_pauses(SAXONY, date(2026, 11, 16), 5, [pause]) == date(2026, 11, 25)


def test_statement_received_on_request_day_changes_nothing() -> None:
    assert deadline_with_pauses(SAXONY, START, 10, [(date(2026, 6, 12), date(2026, 6, 12))]) == PLAIN_DEADLINE


@pytest.mark.parametrize(
    "pauses",
    [
        [WEEK_PAUSE, WEEK_PAUSE],
        [(date(2026, 6, 12), date(2026, 6, 17)), (date(2026, 6, 15), date(2026, 6, 19))],
        [(date(2026, 6, 14), date(2026, 6, 19)), (date(2026, 6, 12), date(2026, 6, 16))],
        [WEEK_PAUSE, (date(2026, 6, 13), date(2026, 6, 18))],  # one pause inside another
    ],
)
def test_overlapping_pauses_count_once(pauses: list[Pause]) -> None:
    assert deadline_with_pauses(SAXONY, START, 10, pauses) == date(2026, 6, 29)


def test_pauses_outside_the_running_clock_change_nothing() -> None:
    before: Pause = (date(2026, 5, 1), date(2026, 6, 8))
    after: Pause = (date(2026, 6, 22), date(2026, 7, 31))
    assert deadline_with_pauses(SAXONY, START, 10, [before, after]) == PLAIN_DEADLINE


def test_open_pause_stops_the_clock() -> None:
    assert deadline_with_pauses(SAXONY, START, 10, [(date(2026, 6, 12), None)]) is None
    assert deadline_with_pauses(SAXONY, START, 10, [WEEK_PAUSE, (date(2026, 6, 26), None)]) is None


def test_open_pause_after_the_deadline_leaves_it_standing() -> None:
    # The deadline had already passed when the statement was requested; hiding it would hide an overdue case.
    assert deadline_with_pauses(SAXONY, START, 10, [(PLAIN_DEADLINE, None)]) == PLAIN_DEADLINE
    assert deadline_with_pauses(SAXONY, START, 10, [(date(2026, 6, 19), None)]) is None


def test_pause_ending_before_it_begins_is_refused() -> None:
    with pytest.raises(ValueError, match="before it begins"):
        deadline_with_pauses(SAXONY, START, 10, [(date(2026, 6, 19), date(2026, 6, 12))])
    with pytest.raises(ValueError, match="before it begins"):
        business_days_elapsed(SAXONY, START, PLAIN_DEADLINE, [(date(2026, 6, 19), date(2026, 6, 12))])


def test_business_days_elapsed() -> None:
    assert business_days_elapsed(SAXONY, START, PLAIN_DEADLINE, []) == 10
    assert business_days_elapsed(SAXONY, START, PLAIN_DEADLINE, [WEEK_PAUSE]) == 5
    assert business_days_elapsed(SAXONY, START, date(2026, 6, 29), [WEEK_PAUSE]) == 10
    assert business_days_elapsed(SAXONY, START, date(2026, 6, 30), [WEEK_PAUSE]) == 11  # overdue
    # An open pause freezes the count at the request day, however long the unit takes.
    assert business_days_elapsed(SAXONY, START, date(2026, 12, 31), [(date(2026, 6, 12), None)]) == 4
    assert business_days_elapsed(SAXONY, START, START, []) == 0
    assert business_days_elapsed(SAXONY, START, date(2026, 6, 1), []) == 0


pause_lists = st.lists(
    st.tuples(search_dates, st.integers(0, 30)).map(lambda p: (p[0], p[0] + timedelta(days=p[1]))),
    max_size=4,
)


@given(start=search_dates, days=st.integers(1, 60), pauses=pause_lists)
def test_deadline_and_elapsed_agree(start: date, days: int, pauses: list[Pause]) -> None:
    deadline = deadline_with_pauses(SAXONY, start, days, pauses)
    assert deadline is not None
    assert deadline >= SAXONY.add_working_days(start, days)
    assert business_days_elapsed(SAXONY, start, deadline, pauses) == days
    assert business_days_elapsed(SAXONY, start, deadline - timedelta(days=1), pauses) == days - 1
