"""The complaints office's annual report, in the shape the Saxon office publishes.

Computed from plain columns only (channel, category, complainant group, outcome codes, follow-up flags,
dates); nothing is decrypted. Like an office's own annual statistics it counts three cohorts:

- *received* in the period (Eingänge): total, from police staff, channels, content categories;
- *decided* in the period (Entscheidungen): outcomes and criminal / disciplinary follow-ups;
- *answered* in the period: decided, or closed without decision by forwarding (Abgabe); withdrawn
  complaints without a decision were not answered. Processing time runs from receipt to that answer;
  "within one month" is at most 30 days, "within two months" at most 60 days, to the microsecond.

The cohorts are not sums of one another, so the report publishes no relation between them. A
directorate's report counts the complaints concerning a unit of that directorate (complaints that name
no unit appear only in the state's report).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy import ColumnElement, func, not_, or_, select, true
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.audit_actions import ComplaintAuditAction
from complaints.domain import CATEGORY_LABELS, OUTCOME_LABELS, Category, Channel, ComplaintStatus, Outcome
from complaints.models import Complaint
from referral_service.identity.permissions import Permission
from referral_service.reporting.periods import Period
from referral_service.reporting.scope import ReportScope, ScopeKind
from referral_service.reporting.service import DomainReport
from referral_service.reporting.sql import elapsed_at_most
from referral_service.reporting.suppression import Protection, Relation, SuppressionProblem, add_part
from referral_service.reporting.tables import COUNT_AND_SHARE, Report, Table, count_row

KIND = "complaints_annual"
TITLE = "Jahresbericht der Zentralen Beschwerdestelle der Polizei"
ONE_MONTH_SECONDS = 30 * 86_400
TWO_MONTHS_SECONDS = 60 * 86_400

CHANNEL_LABELS: Mapping[Channel, str] = {
    Channel.WEB: "Online-Formular",
    Channel.LETTER: "Brief",
    Channel.EMAIL: "E-Mail",
    Channel.PHONE: "Telefon",
    Channel.IN_PERSON: "persönliche Vorsprache",
}


def _scoped(scope: ReportScope) -> ColumnElement[bool]:
    if scope.kind is ScopeKind.STATE:
        return true()
    return col(Complaint.police_unit_id).in_(sorted(scope.unit_ids))


def _answered_at() -> ColumnElement[dt.datetime]:
    c = Complaint.__table__  # type: ignore[attr-defined]
    return func.coalesce(c.c.decided_at, c.c.closed_at)


async def received_counts(
    session: AsyncSession, period: Period, scope: ReportScope
) -> dict[tuple[str, str], tuple[int, int]]:
    """{(channel, category): (complaints, of which from police staff)} received in the period."""
    c = Complaint.__table__  # type: ignore[attr-defined]
    stmt = (
        select(c.c.channel, c.c.category, func.count(), func.count().filter(c.c.from_police_staff.is_(True)))
        .where(c.c.received_at >= period.start, c.c.received_at < period.end, _scoped(scope))
        .group_by(c.c.channel, c.c.category)
    )
    return {(str(a), str(b)): (int(n), int(p)) for a, b, n, p in (await session.execute(stmt)).all()}


async def decided_counts(
    session: AsyncSession, period: Period, scope: ReportScope
) -> dict[str, tuple[int, int, int]]:
    """{outcome: (complaints, criminal investigation, disciplinary proceedings)} decided in the period."""
    c = Complaint.__table__  # type: ignore[attr-defined]
    stmt = (
        select(
            c.c.outcome,
            func.count(),
            func.count().filter(c.c.criminal_investigation.is_(True)),
            func.count().filter(c.c.disciplinary_proceedings.is_(True)),
        )
        .where(
            c.c.decided_at >= period.start,
            c.c.decided_at < period.end,
            c.c.outcome.is_not(None),
            _scoped(scope),
        )
        .group_by(c.c.outcome)
    )
    return {str(o): (int(n), int(ci), int(dp)) for o, n, ci, dp in (await session.execute(stmt)).all()}


async def answered_counts(session: AsyncSession, period: Period, scope: ReportScope) -> tuple[int, int, int]:
    """(answered in the period, of which within one month, within two months of receipt)."""
    c = Complaint.__table__  # type: ignore[attr-defined]
    answered_at = _answered_at()
    stmt = select(
        func.count(),
        func.count().filter(elapsed_at_most(answered_at, c.c.received_at, ONE_MONTH_SECONDS)),
        func.count().filter(elapsed_at_most(answered_at, c.c.received_at, TWO_MONTHS_SECONDS)),
    ).where(
        answered_at >= period.start,
        answered_at < period.end,
        # Withdrawn by the complainant before any decision: the office gave no answer.
        or_(c.c.decided_at.is_not(None), not_(c.c.status == ComplaintStatus.WITHDRAWN.value)),
        _scoped(scope),
    )
    total, one, two = (await session.execute(stmt)).one()
    return int(total), int(one), int(two)


async def complaints_annual_report(
    session: AsyncSession, period: Period, scope: ReportScope, *, now: dt.datetime
) -> Report:
    received = await received_counts(session, period, scope)
    decided = await decided_counts(session, period, scope)
    answered = await answered_counts(session, period, scope)
    protection = protect(received, decided, answered)
    return Report(
        kind=KIND,
        title=TITLE,
        period=period,
        scope=scope,
        generated_at=now,
        tables=(
            Table(
                key="received",
                title="Eingegangene Beschwerden",
                columns=tuple(COUNT_AND_SHARE),
                rows=(
                    count_row(
                        protection, "total", "Beschwerden insgesamt", "received", "received", total=True
                    ),
                    count_row(
                        protection,
                        "from_police_staff",
                        "davon von Polizeibediensteten",
                        "police_staff",
                        "received",
                    ),
                ),
            ),
            _partition_table(
                protection,
                "channels",
                "Eingangswege",
                "channel",
                [(ch.value, CHANNEL_LABELS[ch]) for ch in Channel],
                "received",
                "Beschwerden insgesamt",
            ),
            _partition_table(
                protection,
                "categories",
                "Inhaltliche Schwerpunkte",
                "category",
                [(cat.value, CATEGORY_LABELS[cat]) for cat in Category],
                "received",
                "Beschwerden insgesamt",
            ),
            _partition_table(
                protection,
                "outcomes",
                "Ergebnis der Prüfung",
                "outcome",
                [(o.value, OUTCOME_LABELS[o]) for o in Outcome],
                "decided",
                "entschiedene Beschwerden",
            ),
            Table(
                key="follow_ups",
                title="Folgemaßnahmen",
                columns=tuple(COUNT_AND_SHARE),
                rows=(
                    count_row(protection, "criminal_investigation", "Strafverfahren", "criminal", "decided"),
                    count_row(
                        protection,
                        "disciplinary_proceedings",
                        "Disziplinarverfahren",
                        "disciplinary",
                        "decided",
                    ),
                ),
                note="Anteil an den im Zeitraum entschiedenen Beschwerden.",
            ),
            Table(
                key="processing_time",
                title="Bearbeitungsdauer",
                columns=tuple(COUNT_AND_SHARE),
                rows=(
                    count_row(
                        protection, "answered", "beantwortete Beschwerden", "answered", "answered", total=True
                    ),
                    count_row(protection, "within_one_month", "binnen eines Monats", "within_1m", "answered"),
                    count_row(
                        protection, "within_two_months", "binnen zweier Monate", "within_2m", "answered"
                    ),
                ),
                note=(
                    "Vom Eingang bis zur Entscheidung oder Abgabe; "
                    "ein Monat = 30 Tage, zwei Monate = 60 Tage."
                ),
            ),
        ),
        notes=(
            "Eingänge: im Zeitraum eingegangene Beschwerden. Ergebnisse und Folgemaßnahmen: im Zeitraum "
            "entschiedene Beschwerden. Bearbeitungsdauer: im Zeitraum beantwortete Beschwerden.",
        ),
    )


def protect(
    received: Mapping[tuple[str, str], tuple[int, int]],
    decided: Mapping[str, tuple[int, int, int]],
    answered: tuple[int, int, int],
) -> Protection:
    problem = SuppressionProblem()
    total_received = problem.cell("received", sum(n for n, _ in received.values()), margin=True)
    channels = [
        problem.cell(f"channel:{ch.value}", sum(n for (a, _), (n, _) in received.items() if a == ch.value))
        for ch in Channel
    ]
    categories = [
        problem.cell(f"category:{cat.value}", sum(n for (_, b), (n, _) in received.items() if b == cat.value))
        for cat in Category
    ]
    problem.structure(Relation(total_received, tuple(channels)), Relation(total_received, tuple(categories)))
    staff = sum(p for _, p in received.values())
    add_part(problem, total_received, "police_staff", staff)

    total_decided = problem.cell("decided", sum(n for n, _, _ in decided.values()), margin=True)
    outcomes = [problem.cell(f"outcome:{o.value}", decided.get(o.value, (0, 0, 0))[0]) for o in Outcome]
    problem.structure(Relation(total_decided, tuple(outcomes)))
    add_part(problem, total_decided, "criminal", sum(c for _, c, _ in decided.values()))
    add_part(problem, total_decided, "disciplinary", sum(d for _, _, d in decided.values()))

    count, within_one, within_two = answered
    problem.cell("answered", count, margin=True)
    problem.cell("within_2m", within_two, margin=True)
    problem.cell("within_1m", within_one)
    problem.structure(
        Relation("answered", ("within_2m", problem.cell("over_2m", count - within_two, hidden=True))),
        Relation(
            "within_2m", ("within_1m", problem.cell("between_1m_2m", within_two - within_one, hidden=True))
        ),
    )
    return problem.solve()


def _partition_table(
    protection: Protection,
    key: str,
    title: str,
    prefix: str,
    entries: Sequence[tuple[str, str]],
    total_name: str,
    total_label: str,
) -> Table:
    return Table(
        key=key,
        title=title,
        columns=tuple(COUNT_AND_SHARE),
        rows=(
            *(count_row(protection, code, label, f"{prefix}:{code}", total_name) for code, label in entries),
            count_row(protection, "total", total_label, total_name, total_name, total=True),
        ),
    )


ANNUAL_REPORT = DomainReport(
    name="complaints-annual",
    kind=KIND,
    builder=complaints_annual_report,
    read_action=ComplaintAuditAction.REPORT_READ,
    permission=Permission.REPORT_COMPLAINTS_ANNUAL_READ,
    summary="Annual report of the complaints office (a quarter on request)",
)
