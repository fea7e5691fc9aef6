"""The complaints annual report: a handcrafted year through every row, the Saxon office's 2023 figures,
processing-time limits to the microsecond, small counts and mentions, and the directorate scope; on
both engines."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.models import Complaint, ComplaintCategory
from complaints.reports import complaints_annual_report
from referral_service.reporting.periods import period_of
from referral_service.reporting.scope import resolve_scope
from referral_service.reporting.tables import NOT_APPLICABLE, Report, Table
from tests.identity.support import DemoDirectory
from tests.reporting.support import at, complaint, insert

NOW = at("2026-11-21T12:00:00")
DAY = dt.timedelta(days=1)
MICROSECOND = dt.timedelta(microseconds=1)


def saxony_2023() -> list[Complaint]:
    """258 complaints received in 2023, 24 of them from police staff. 256 were decided in 2023:
    19 begründet, 80 teilweise begründet, 108 unbegründet, 49 keine Entscheidung; 14 led to criminal
    and 5 to disciplinary proceedings.

    Assumption for the remaining two (258 - 256): received in 2023 but not decided in 2023. One was
    forwarded to the public prosecutor (closed without a decision on the merits), one was still in
    progress at the end of the year. Channels, categories and processing times are not in the brief's
    figures; they are chosen here, all with five or more cases so that nothing is withheld.
    """
    channels = ["web"] * 120 + ["email"] * 80 + ["letter"] * 40 + ["phone"] * 12 + ["in_person"] * 6
    categories = (
        ["conduct_on_duty"] * 110
        + ["criminal_prosecution"] * 50
        + ["danger_prevention"] * 40
        + ["traffic_policing"] * 35
        + ["other"] * 15
        + ["conduct_off_duty"] * 8
    )
    outcomes = ["justified"] * 19 + ["partly_justified"] * 80 + ["unjustified"] * 108 + ["no_decision"] * 49
    # Decided after 10 days (150), 45 days (80), 75 days (26).
    durations = [10] * 150 + [45] * 80 + [75] * 26
    rows = []
    for i in range(258):
        received = at("2023-01-02T08:00:00") + i * DAY
        common = {
            "received_at": received,
            "channel": channels[i],
            "category": categories[(i * 7) % 258],
            "police_staff": i % 10 == 0 and i < 240,  # 24 of them
        }
        if i < 256:
            decided = durations[(i * 11) % 256] * DAY
            rows.append(
                complaint(
                    **common,
                    status="closed",
                    outcome=outcomes[(i * 13) % 256],
                    decided_after=decided,
                    closed_after=decided + 2 * DAY,
                    criminal=i < 14,
                    disciplinary=20 <= i < 25,
                )
            )
        elif i == 256:
            rows.append(
                complaint(**common, status="forwarded", closed_after=5 * DAY, forward_reason="to_prosecutor")
            )
        else:
            rows.append(complaint(**common, status="in_progress"))
    # Neither received nor decided in 2023.
    rows.append(
        complaint(
            received_at=at("2022-06-01T08:00:00"),
            status="closed",
            outcome="justified",
            decided_after=30 * DAY,
            closed_after=31 * DAY,
        )
    )
    rows.append(
        complaint(
            received_at=at("2024-02-01T08:00:00"),
            status="closed",
            outcome="unjustified",
            decided_after=10 * DAY,
            closed_after=11 * DAY,
            criminal=True,
        )
    )
    return rows


async def build(
    engine: AsyncEngine,
    year: int,
    quarter: int | None = None,
    directorate: str | None = None,
    *,
    now: dt.datetime = NOW,
) -> Report:
    async with AsyncSession(engine) as session:
        scope = await resolve_scope(session, directorate)
        return await complaints_annual_report(session, period_of(year, quarter), scope, now=now)


def table_values(table: Table) -> dict[str, dict[str, object]]:
    return {row.key: dict(row.values) for row in table.rows}


def counts(table: Table) -> dict[str, object]:
    return {row.key: row.values["count"] for row in table.rows}


def mentions(rows: list[Complaint], further: dict[int, tuple[str, ...]]) -> list[ComplaintCategory]:
    """The category rows the service writes: each complaint's primary, and the further ones given."""
    found = [ComplaintCategory(complaint_id=r.id, category=r.category, is_primary=True) for r in rows]
    for index, categories in further.items():
        found += [ComplaintCategory(complaint_id=rows[index].id, category=c) for c in categories]
    return found


async def test_a_handcrafted_year_through_every_row(
    engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    """Ten kinds of complaint, each five times so that no count is small and every row shows. The report
    is produced on 20 January 2026: its cut-off."""
    now = at("2026-01-20T12:00:00")
    start = at("2025-03-03T09:00:00")
    kinds: list[tuple[dict[str, object], tuple[str, ...]]] = [
        # Decided after 10 days, with a criminal investigation; concerns conduct on duty too.
        (
            dict(
                channel="email",
                category="danger_prevention",
                status="closed",
                outcome="justified",
                decided_after=10 * DAY,
                closed_after=11 * DAY,
                criminal=True,
            ),
            ("conduct_on_duty",),
        ),
        # Decided after five weeks, disciplinary proceedings; three areas.
        (
            dict(
                channel="letter",
                category="criminal_prosecution",
                status="closed",
                outcome="partly_justified",
                decided_after=35 * DAY,
                closed_after=36 * DAY,
                disciplinary=True,
            ),
            ("conduct_on_duty", "traffic_policing"),
        ),
        # From police staff, by fax, decided after ten weeks.
        (
            dict(
                channel="fax",
                category="conduct_off_duty",
                police_staff=True,
                status="decision",
                outcome="unjustified",
                decided_after=70 * DAY,
            ),
            (),
        ),
        # A follow-up complaint, no decision possible (criminal proceedings), after 20 days.
        (
            dict(
                complaint_type="follow_up",
                channel="email",
                status="closed",
                outcome="no_decision",
                decided_after=20 * DAY,
                closed_after=21 * DAY,
                criminal=True,
            ),
            (),
        ),
        (
            dict(
                channel="phone",
                category="traffic_policing",
                status="forwarded",
                closed_after=3 * DAY,
                forward_reason="to_prosecutor",
            ),
            (),
        ),
        (dict(channel="in_person", category="other", status="withdrawn", closed_after=4 * DAY), ()),
        # A follow-up from police staff through the form, still in progress.
        (dict(complaint_type="follow_up", channel="web", police_staff=True, status="in_progress"), ()),
        # Decided on 1 February 2026, after the cut-off: still in progress, its flag not yet counted.
        (
            dict(
                received_at=at("2025-12-15T09:00:00"),
                channel="email",
                category="danger_prevention",
                status="decision",
                outcome="justified",
                decided_after=48 * DAY,
                criminal=True,
            ),
            (),
        ),
        # "Sonstige Anliegen": counted apart, in no other table.
        (dict(complaint_type="other_concern", channel="email", category="other"), ()),
        (dict(complaint_type="other_concern", channel="letter", category="other"), ()),
    ]
    rows: list[Complaint] = []
    further: dict[int, tuple[str, ...]] = {}
    for k, (fields, more) in enumerate(kinds):
        for copy in range(5):
            given = {"received_at": start + (k * 5 + copy) * DAY, **fields}
            kind = str(given.pop("complaint_type", "complaint"))
            further[len(rows)] = more
            rows.append(complaint(**given))  # type: ignore[arg-type]
            rows[-1].complaint_type = kind  # the helper enters plain complaints
    # Not in 2025: received the year before (decided in 2025), and in January 2026.
    rows.append(
        complaint(
            received_at=at("2024-12-20T09:00:00"),
            status="closed",
            outcome="justified",
            decided_after=20 * DAY,
            closed_after=21 * DAY,
        )
    )
    rows.append(complaint(received_at=at("2026-01-05T09:00:00")))
    await insert(engine, rows)
    await insert(engine, mentions(rows, further))

    report = await build(engine, 2025, now=now)

    assert table_values(report.table("received")) == {
        "complaints": {"count": 30, "share": 0.75},
        "follow_ups": {"count": 10, "share": 0.25},
        "total": {"count": 40, "share": 1.0},  # Beschwerden insgesamt, without the sonstige Anliegen
        "from_citizens": {"count": 30, "share": 0.75},
        "from_police_staff": {"count": 10, "share": 0.25},
    }
    assert table_values(report.table("other_concerns")) == {"total": {"count": 10}}
    assert table_values(report.table("channels")) == {
        "web": {"count": 5, "share": 0.125},
        "letter": {"count": 5, "share": 0.125},
        "email": {"count": 15, "share": 0.375},
        "fax": {"count": 5, "share": 0.125},
        "phone": {"count": 5, "share": 0.125},
        "in_person": {"count": 5, "share": 0.125},
        "total": {"count": 40, "share": 1.0},
    }
    # Mentions: 55 for 40 complaints, shares of the 40; no sum is printed.
    assert table_values(report.table("categories")) == {
        "danger_prevention": {"count": 10, "share": 0.25},
        "traffic_policing": {"count": 10, "share": 0.25},
        "criminal_prosecution": {"count": 5, "share": 0.125},
        "conduct_on_duty": {"count": 20, "share": 0.5},
        "conduct_off_duty": {"count": 5, "share": 0.125},
        "other": {"count": 5, "share": 0.125},
    }
    # Each complaint once, as it stood at the cut-off.
    assert table_values(report.table("outcomes")) == {
        "justified": {"count": 5, "share": 0.125},
        "partly_justified": {"count": 5, "share": 0.125},
        "unjustified": {"count": 5, "share": 0.125},
        "no_decision": {"count": 5, "share": 0.125},
        "decided": {"count": 20, "share": 0.5},
        "forwarded": {"count": 5, "share": 0.125},
        "withdrawn": {"count": 5, "share": 0.125},
        "in_progress": {"count": 10, "share": 0.25},
        "total": {"count": 40, "share": 1.0},
    }
    assert table_values(report.table("processing_time")) == {
        "decided": {"count": 20, "share": 1.0},
        "within_one_month": {"count": 10, "share": 0.5},  # after 10 and 20 days
        "within_two_months": {"count": 15, "share": 0.75},  # and after five weeks, not after ten
    }
    assert table_values(report.table("follow_ups")) == {
        "criminal_investigation": {"count": 10, "share": 0.5},
        "disciplinary_proceedings": {"count": 5, "share": 0.25},
    }
    assert "20.01.2026" in (report.table("outcomes").note or "")

    # A month later the late decision counts, with its outcome and its flag.
    later = await build(engine, 2025, now=at("2026-02-20T12:00:00"))
    assert counts(later.table("outcomes"))["justified"] == 10
    assert counts(later.table("outcomes"))["in_progress"] == 5
    assert counts(later.table("follow_ups"))["criminal_investigation"] == 15


async def test_the_saxon_2023_figures(engine: AsyncEngine, demo_directory: DemoDirectory) -> None:
    rows = saxony_2023()
    assert sum(r.from_police_staff for r in rows if r.received_at.year == 2023) == 24
    await insert(engine, rows)
    report = await build(engine, 2023)
    assert report.period.label == "2023"

    assert table_values(report.table("received")) == {
        "complaints": {"count": 258, "share": 1.0},
        "follow_ups": {"count": 0, "share": 0.0},
        "total": {"count": 258, "share": 1.0},
        "from_citizens": {"count": 234, "share": 0.907},
        "from_police_staff": {"count": 24, "share": 0.093},
    }
    # The year's 258 complaints, each once: the forwarded one and the one still in progress are
    # withheld, and protect each other (their sum, 2, is all that follows from the rest).
    assert counts(report.table("outcomes")) == {
        "justified": 19,  # begründet
        "partly_justified": 80,  # teilweise begründet
        "unjustified": 108,  # unbegründet
        "no_decision": 49,  # keine Entscheidung
        "decided": 256,
        "forwarded": None,
        "withdrawn": 0,
        "in_progress": None,
        "total": 258,
    }
    assert [row.label for row in report.table("outcomes").rows][:4] == [
        "begründet",
        "teilweise begründet",
        "unbegründet",
        "keine Entscheidung",
    ]
    assert table_values(report.table("follow_ups")) == {
        "criminal_investigation": {"count": 14, "share": 0.0547},
        "disciplinary_proceedings": {"count": 5, "share": 0.0195},
    }
    assert counts(report.table("channels")) == {
        "web": 120,
        "letter": 40,
        "email": 80,
        "fax": 0,
        "phone": 12,
        "in_person": 6,
        "total": 258,
    }
    assert counts(report.table("categories")) == {
        "danger_prevention": 40,
        "traffic_policing": 35,
        "criminal_prosecution": 50,
        "conduct_on_duty": 110,
        "conduct_off_duty": 8,
        "other": 15,
    }
    # The 256 decisions: 150 within a month, 80 more within two.
    assert table_values(report.table("processing_time")) == {
        "decided": {"count": 256, "share": 1.0},
        "within_one_month": {"count": 150, "share": 0.5859},
        "within_two_months": {"count": 230, "share": 0.8984},
    }


async def test_processing_time_limits_are_exact_and_only_decisions_count(
    engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    start = at("2025-03-03T09:00:00")
    rows = []
    for i in range(5):
        received = start + i * DAY
        for after in (30 * DAY, 30 * DAY + MICROSECOND, 60 * DAY, 60 * DAY + MICROSECOND):
            rows.append(
                complaint(
                    received_at=received,
                    status="closed",
                    outcome="unjustified",
                    decided_after=after,
                    closed_after=after + DAY,
                )
            )
        # Withdrawn or forwarded: no decision, so no processing time.
        rows.append(complaint(received_at=received, status="withdrawn", closed_after=4 * DAY))
        rows.append(
            complaint(
                received_at=received, status="forwarded", closed_after=3 * DAY, forward_reason="not_competent"
            )
        )
    await insert(engine, rows)
    report = await build(engine, 2025)
    assert table_values(report.table("processing_time")) == {
        "decided": {"count": 20, "share": 1.0},
        "within_one_month": {"count": 5, "share": 0.25},  # the 5 at exactly 30 days
        "within_two_months": {"count": 15, "share": 0.75},  # and 5 after 30 days + 1 µs, 5 at 60 days
    }
    assert counts(report.table("received"))["total"] == 30


async def test_small_counts_are_withheld_with_a_complement(
    engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    received = at("2024-05-06T09:00:00")
    channels = ["web"] * 7 + ["letter"] * 3 + ["phone"] * 2
    rows = [
        complaint(
            received_at=received + i * DAY,
            channel=channel,
            police_staff=i < 9,
            category="traffic_policing" if i >= 10 else "conduct_on_duty",
        )
        for i, channel in enumerate(channels)
    ]
    await insert(engine, rows)
    await insert(engine, mentions(rows, {}))
    report = await build(engine, 2024, quarter=2)
    assert counts(report.table("channels")) == {
        "web": 7,
        "letter": None,  # 3
        "email": 0,
        "fax": 0,
        "phone": None,  # 2: letter and phone protect each other; 12 - 7 gives only their sum
        "in_person": 0,
        "total": 12,
    }
    # 9 of 12 from police staff: the 3 citizens would follow from 12 - 9, so 9 is withheld.
    assert table_values(report.table("received"))["from_police_staff"] == {"count": None, "share": None}
    assert table_values(report.table("received"))["from_citizens"] == {"count": None, "share": None}
    # Nothing decided: a share of no cases is not applicable (not withheld); all 12 still in progress.
    assert table_values(report.table("processing_time"))["decided"] == {"count": 0, "share": NOT_APPLICABLE}
    assert counts(report.table("outcomes"))["in_progress"] == 12
    # One area per complaint: the mentions are a partition of the 12, so the 2 in traffic policing
    # would follow from 12 - 10; the 10 are withheld with them.
    assert counts(report.table("categories")) == {
        "danger_prevention": 0,
        "traffic_policing": None,
        "criminal_prosecution": 0,
        "conduct_on_duty": None,
        "conduct_off_duty": 0,
        "other": 0,
    }
    # Two complaints concern criminal prosecution too: 14 mentions for 12 complaints, no relation to the
    # total, so each small mention is withheld on its own and the 10 are published.
    await insert(
        engine, [ComplaintCategory(complaint_id=r.id, category="criminal_prosecution") for r in rows[:2]]
    )
    report = await build(engine, 2024, quarter=2)
    assert counts(report.table("categories")) == {
        "danger_prevention": 0,
        "traffic_policing": None,
        "criminal_prosecution": None,
        "conduct_on_duty": 10,
        "conduct_off_duty": 0,
        "other": 0,
    }
    assert all(row.key != "total" for row in report.table("categories").rows)


async def test_a_directorate_report_counts_complaints_about_its_units(
    engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    received = at("2024-09-02T09:00:00")
    nord = demo_directory.unit("rev-dresden-nord").id
    leipzig = demo_directory.unit("rev-leipzig-zentrum").id
    rows = [complaint(received_at=received + i * DAY, police_unit_id=nord) for i in range(6)]
    rows += [complaint(received_at=received + i * DAY, police_unit_id=leipzig) for i in range(8)]
    rows += [complaint(received_at=received + i * DAY) for i in range(5)]  # no unit named
    await insert(engine, rows)
    dresden = await build(engine, 2024, directorate="pd-dresden")
    assert dresden.scope.label == "pd-dresden"
    assert counts(dresden.table("received"))["total"] == 6
    state = await build(engine, 2024)
    assert counts(state.table("received"))["total"] == 19


async def test_report_reads_no_encrypted_column(engine: AsyncEngine, demo_directory: DemoDirectory) -> None:
    from sqlalchemy import event

    from complaints.models import ComplaintAttachment, ComplaintMessage, StatementRequest
    from referral_service.keys.fields import encrypted_columns

    statements: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    await insert(engine, saxony_2023())
    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        await build(engine, 2023)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    sql = "\n".join(statements)
    assert "FROM complaints" in sql
    for model in (ComplaintMessage, StatementRequest, ComplaintAttachment):
        assert model.__tablename__ not in sql  # type: ignore[attr-defined]
    for column in encrypted_columns(Complaint):
        assert f"complaints.{column}" not in sql, column
