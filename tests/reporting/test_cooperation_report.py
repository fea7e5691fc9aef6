"""The cooperation report on constructed referrals with known answers, on both engines."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.referrals.models import Referral
from referral_service.referrals.reports import cooperation_report
from referral_service.reporting.periods import period_of
from referral_service.reporting.scope import resolve_scope
from referral_service.reporting.tables import NOT_APPLICABLE, Report, Table
from tests.identity.support import DemoDirectory
from tests.reporting.linear import derivable
from tests.reporting.support import at, hours, insert, referral

NOW = at("2026-11-21T12:00:00")
BASE = at("2025-04-10T08:00:00")
CATEGORIES = [
    "child_sexual_abuse",
    "rape_sexual_assault",
    "other_sexual_offence",
    "sexual_offence_unspecified",
    "domestic_violence",
    "bodily_harm",
    "stalking",
    "threat",
    "robbery",
    "burglary",
    "fraud",
    "homicide_relatives",
    "other",
]


def day(n: int) -> dt.datetime:
    return BASE + dt.timedelta(days=n)


def second_quarter_2025(d: DemoDirectory) -> list[Referral]:
    rows: list[Referral] = []
    # Dresden-Nord, bodily harm: accepted after 1..8 hours; first contact after 10..60 hours, after
    # exactly 72 hours (in time) and 72 hours and one microsecond (late); six closed with support.
    contacts = [hours(h) for h in (10, 20, 30, 40, 50, 60, 72)] + [hours(72) + dt.timedelta(microseconds=1)]
    for i in range(8):
        support = "legal_advice_voucher,personal_support" if i < 3 else "personal_support"
        rows.append(
            referral(
                d,
                station="rev-dresden-nord",
                submitted_at=day(i),
                accepted_after=hours(i + 1),
                contact_after=contacts[i],
                closed_with="supported" if i < 6 else None,
                support_given=support if i < 6 else "",
            )
        )
    # Dresden-Nord, domestic violence: four accepted after 12 hours, two consents withdrawn.
    for i in range(4):
        rows.append(
            referral(
                d,
                station="rev-dresden-nord",
                submitted_at=day(10 + i),
                category="domestic_violence",
                accepted_after=hours(12),
            )
        )
    for i in range(2):
        rows.append(
            referral(
                d,
                station="rev-dresden-nord",
                submitted_at=day(20 + i),
                category="domestic_violence",
                withdrawn=True,
            )
        )
    # Dresden-Mitte, stalking: one declined by a branch and accepted 30 hours after submission, two waiting.
    rows.append(
        referral(
            d,
            station="rev-dresden-mitte",
            submitted_at=day(30),
            category="stalking",
            declined=True,
            accepted_after=hours(30),
        )
    )
    rows += [
        referral(d, station="rev-dresden-mitte", submitted_at=day(31 + i), category="stalking")
        for i in range(2)
    ]
    # 00:30 on 1 April in Dresden is 22:30 UTC on 31 March: this one belongs to the second quarter.
    rows.append(
        referral(d, station="rev-dresden-nord", submitted_at=at("2025-03-31T22:30:00"), category="threat")
    )
    # Leipzig-Zentrum: bodily harm accepted after 24 hours, contacted after 48 (2) or 80 hours (5);
    # fraud waiting.
    for i in range(7):
        rows.append(
            referral(
                d,
                station="rev-leipzig-zentrum",
                submitted_at=day(40 + i),
                accepted_after=hours(24),
                contact_after=hours(48 if i < 2 else 80),
            )
        )
    rows += [
        referral(d, station="rev-leipzig-zentrum", submitted_at=day(50 + i), category="fraud")
        for i in range(5)
    ]
    # Outside the quarter: 23:30 on 31 March and 00:30 on 1 July, Dresden time.
    rows.append(referral(d, station="rev-dresden-nord", submitted_at=at("2025-03-31T21:30:00")))
    rows.append(referral(d, station="rev-leipzig-zentrum", submitted_at=at("2025-06-30T22:30:00")))
    return rows


async def build(engine: AsyncEngine, directorate: str | None = None, quarter: int | None = 2) -> Report:
    async with AsyncSession(engine) as session:
        scope = await resolve_scope(session, directorate)
        return await cooperation_report(
            session, period_of(2025, quarter), scope, now=NOW, contact_within=hours(72)
        )


def values(table: Table, row: str) -> dict[str, object]:
    return dict(next(r for r in table.rows if r.key == row).values)


async def test_state_report_counts_medians_and_72_hour_share(
    engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    await insert(engine, second_quarter_2025(demo_directory))
    report = await build(engine)
    assert report.period.label == "2025-Q2"
    assert report.scope.label == "state"

    by_unit = report.table("referrals_by_unit")
    assert [row.key for row in by_unit.rows] == [
        "pd-chemnitz",
        "pd-dresden",
        "pd-goerlitz",
        "pd-leipzig",
        "pd-zwickau",
        "total",
    ]
    zero = dict.fromkeys(CATEGORIES, 0)
    # Stalking (3) and threat (1) are small: withheld in Dresden's row and in the column totals, which
    # protect each other (the row total 18 gives only their sum, 4). The zeros beside them (Dresden's
    # fraud, Leipzig's stalking, threat and domestic violence) are withheld too, so that the dots do
    # not say in which areas the few cases lie; protecting them takes Dresden's 6 and Leipzig's 5.
    # Chemnitz has no cases at all: its zeros say nothing its total does not, and stay published.
    assert values(by_unit, "pd-dresden") == {
        **zero,
        "bodily_harm": 8,
        "domestic_violence": None,
        "stalking": None,
        "threat": None,
        "fraud": None,
        "total": 18,
    }
    assert values(by_unit, "pd-leipzig") == {
        **zero,
        "bodily_harm": 7,
        "domestic_violence": None,
        "stalking": None,
        "threat": None,
        "fraud": None,
        "total": 12,
    }
    assert values(by_unit, "pd-chemnitz") == {**zero, "total": 0}
    assert values(by_unit, "total") == {
        **zero,
        "bodily_harm": 15,
        "domestic_violence": 6,
        "stalking": None,
        "threat": None,
        "fraud": 5,
        "total": 30,
    }

    processing = report.table("processing")
    assert {row.key: dict(row.values) for row in processing.rows} == {
        "submitted": {"count": 30, "share": 1.0},
        "accepted": {"count": 20, "share": 0.6667},
        "first_contact": {"count": 15, "share": 0.5},
        # 72 hours exactly counts as in time, 72 hours and a microsecond does not (both engines).
        "contacted_within_deadline": {"count": 9, "share": 0.3},
        "declined_by_branch": {"count": None, "share": None},  # 1
        "consent_withdrawn": {"count": None, "share": None},  # 2
    }
    # Acceptance after 1..8 h, 12 h (4), 30 h, 24 h (7): the 10th and 11th of 20 are both 12 h.
    # First contact after 10..60 h, 72 h, 72 h + 1 µs, 48 h (2), 80 h (5): the 8th of 15 is 60 h.
    durations = report.table("durations")
    assert values(durations, "to_acceptance") == {"cases": 20, "median_hours": 12.0}
    assert values(durations, "to_first_contact") == {"cases": 15, "median_hours": 60.0}

    support = report.table("support_given")
    assert values(support, "closed_with_support") == {"count": 6, "share": 1.0}
    assert values(support, "personal_support") == {"count": 6, "share": 1.0}
    assert values(support, "legal_advice_voucher") == {"count": None, "share": None}  # 3
    assert values(support, "financial_aid") == {"count": 0, "share": 0.0}


async def test_directorate_report_lists_stations_and_protects_every_withheld_cell(
    engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    rows = second_quarter_2025(demo_directory)
    await insert(engine, rows)
    report = await build(engine, "pd-dresden")
    assert report.scope.label == "pd-dresden"
    by_unit = report.table("referrals_by_unit")
    assert [row.key for row in by_unit.rows] == [
        "rev-dresden-mitte",
        "rev-dresden-nord",
        "rev-meissen",
        "pd-dresden",
        "total",
    ]
    assert values(by_unit, "total")["total"] == 18
    # Mitte's 3 stalking and Nord's 1 threat are withheld, and so are the zeros beside them: a row of
    # zeros with one dot would tell which offence a station's few cases concern. Protecting Mitte's
    # zero in domestic violence takes Nord's 6 there.
    for station in ("rev-dresden-mitte", "rev-dresden-nord"):
        shown = values(by_unit, station)
        assert {c for c in ("stalking", "threat", "domestic_violence") if shown[c] is None} == {
            "stalking",
            "threat",
            "domestic_violence",
        }, station
    assert values(by_unit, "total")["domestic_violence"] == 6
    durations = report.table("durations")
    # Dresden: acceptance after 1..8 h, 12 h (4), 30 h: the 7th of 13 is 7 h. First contact after 10, 20,
    # 30, 40, 50, 60, 72 h and 72 h + 1 µs: the mean of the 4th and 5th of 8 is 45 h.
    assert values(durations, "to_acceptance") == {"cases": 13, "median_hours": 7.0}
    assert values(durations, "to_first_contact") == {"cases": 8, "median_hours": 45.0}

    # The true counts, from the constructed rows; then the exact check on the published table.
    truth: dict[tuple[str, str], int] = {}
    codes = {demo_directory.unit(code).id: code for code in ("rev-dresden-mitte", "rev-dresden-nord")}
    period = period_of(2025, 2)
    for row in rows:
        if row.referring_station_id in codes and period.start <= row.submitted_at < period.end:
            key = (codes[row.referring_station_id], row.offence_category)
            truth[key] = truth.get(key, 0) + 1
    assert_table_protected(by_unit, truth)


def assert_table_protected(table: Table, truth: dict[tuple[str, str], int]) -> None:
    """No published count in 1..4, and no withheld count derivable from rows, columns and totals."""
    units = [row.key for row in table.rows if row.key != "total"]
    names = {(u, c): f"{u}/{c}" for u in [*units, "total"] for c in [*CATEGORIES, "total"]}

    def true_value(unit: str, category: str) -> int:
        return sum(v for (u, c), v in truth.items() if (unit in (u, "total")) and (category in (c, "total")))

    withheld = []
    for (unit, category), cell in names.items():
        shown = values(table, unit)[category]
        value = true_value(unit, category)
        if shown is None:
            withheld.append(cell)
        else:
            assert shown == value
            assert value == 0 or value >= 5, (cell, value)
    equations = [
        {**{names[(u, c)]: 1 for c in CATEGORIES}, names[(u, "total")]: -1} for u in [*units, "total"]
    ] + [{**{names[(u, c)]: 1 for u in units}, names[("total", c)]: -1} for c in [*CATEGORIES, "total"]]
    assert not derivable(equations, withheld)
    assert withheld  # the small cells really were withheld


async def test_a_whole_year_and_another_quarter(engine: AsyncEngine, demo_directory: DemoDirectory) -> None:
    await insert(engine, second_quarter_2025(demo_directory))
    year = await build(engine, quarter=None)
    assert year.period.label == "2025"
    # The year holds the quarter's 30 and the one from 23:30 on 31 March; 00:30 on 1 July is the third
    # quarter, still 2025.
    assert values(year.table("referrals_by_unit"), "total")["total"] == 32
    first = await build(engine, quarter=1)
    assert values(first.table("referrals_by_unit"), "total")["total"] is None  # one case: withheld
    # Medians and shares of fewer than five cases are withheld too.
    # No case accepted: the median is not applicable, which is not "withheld".
    assert values(first.table("durations"), "to_acceptance") == {"cases": 0, "median_hours": NOT_APPLICABLE}
    assert values(first.table("processing"), "submitted") == {"count": None, "share": None}


async def test_report_reads_no_encrypted_column(engine: AsyncEngine, demo_directory: DemoDirectory) -> None:
    """The report's SQL never names a ciphertext or blind-index column (it could not decrypt anyway)."""
    from referral_service.keys.fields import blind_index_columns, encrypted_columns

    statements: list[str] = []
    from sqlalchemy import event

    def capture(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        await insert(engine, second_quarter_2025(demo_directory))
        statements.clear()
        await build(engine)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    sql = "\n".join(statements)
    assert "referrals" in sql
    for column in (*encrypted_columns(Referral), *blind_index_columns(Referral)):
        assert f"referrals.{column}" not in sql, column
        assert f'"{column}"' not in sql, column
