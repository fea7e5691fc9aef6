"""The complaints annual report: the Saxon office's 2023 figures, processing-time limits to the
microsecond, small counts, and the directorate scope; on both engines."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.models import Complaint
from complaints.reports import complaints_annual_report
from referral_service.reporting.periods import period_of
from referral_service.reporting.scope import resolve_scope
from referral_service.reporting.tables import Report, Table
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
    engine: AsyncEngine, year: int, quarter: int | None = None, directorate: str | None = None
) -> Report:
    async with AsyncSession(engine) as session:
        scope = await resolve_scope(session, directorate)
        return await complaints_annual_report(session, period_of(year, quarter), scope, now=NOW)


def table_values(table: Table) -> dict[str, dict[str, object]]:
    return {row.key: dict(row.values) for row in table.rows}


def counts(table: Table) -> dict[str, object]:
    return {row.key: row.values["count"] for row in table.rows}


async def test_the_saxon_2023_figures(engine: AsyncEngine, demo_directory: DemoDirectory) -> None:
    rows = saxony_2023()
    assert sum(r.from_police_staff for r in rows if r.received_at.year == 2023) == 24
    await insert(engine, rows)
    report = await build(engine, 2023)
    assert report.period.label == "2023"

    assert table_values(report.table("received")) == {
        "total": {"count": 258, "share": 1.0},
        "from_police_staff": {"count": 24, "share": 0.093},
    }
    assert counts(report.table("outcomes")) == {
        "justified": 19,  # begründet
        "partly_justified": 80,  # teilweise begründet
        "unjustified": 108,  # unbegründet
        "no_decision": 49,  # keine Entscheidung
        "total": 256,
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
        "total": 258,
    }
    # Answered in 2023: the 256 decisions and the forwarding (after 5 days); 150 + 1 within a month,
    # 80 more within two.
    assert table_values(report.table("processing_time")) == {
        "answered": {"count": 257, "share": 1.0},
        "within_one_month": {"count": 151, "share": 0.5875},
        "within_two_months": {"count": 231, "share": 0.8988},
    }


async def test_processing_time_limits_are_exact_and_withdrawals_are_not_answers(
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
        # Withdrawn without a decision: not answered. Forwarded after 3 days: answered within a month.
        rows.append(complaint(received_at=received, status="withdrawn", closed_after=4 * DAY))
        rows.append(
            complaint(
                received_at=received, status="forwarded", closed_after=3 * DAY, forward_reason="not_competent"
            )
        )
    await insert(engine, rows)
    report = await build(engine, 2025)
    assert table_values(report.table("processing_time")) == {
        "answered": {"count": 25, "share": 1.0},
        "within_one_month": {"count": 10, "share": 0.4},  # 5 at exactly 30 days, 5 forwarded
        "within_two_months": {"count": 20, "share": 0.8},  # and 5 after 30 days + 1 µs, 5 at 60 days
    }
    assert counts(report.table("received"))["total"] == 30


async def test_small_counts_are_withheld_with_a_complement(
    engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    received = at("2024-05-06T09:00:00")
    channels = ["web"] * 7 + ["letter"] * 3 + ["phone"] * 2
    rows = [
        complaint(received_at=received + i * DAY, channel=channel, police_staff=i < 9)
        for i, channel in enumerate(channels)
    ]
    await insert(engine, rows)
    report = await build(engine, 2024, quarter=2)
    assert counts(report.table("channels")) == {
        "web": 7,
        "letter": None,  # 3
        "email": 0,
        "phone": None,  # 2: letter and phone protect each other; 12 - 7 gives only their sum
        "in_person": 0,
        "total": 12,
    }
    # 9 of 12 from police staff: the remaining 3 would follow from 12 - 9, so 9 is withheld.
    assert table_values(report.table("received"))["from_police_staff"] == {"count": None, "share": None}
    # Nothing decided: zero, published; shares of nothing are withheld.
    assert table_values(report.table("outcomes"))["total"] == {"count": 0, "share": None}


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
