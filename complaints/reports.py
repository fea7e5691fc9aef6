"""The complaints office's annual report, counted as the Saxon office publishes it.

Computed from plain columns only (type, complainant group, channel, categories, outcome codes,
follow-up flags, dates); nothing is decrypted. Counting rules (the published Saxon annual reports):

- The cohort is every complaint *received* in the period. "Beschwerden insgesamt" are complaints and
  follow-up complaints (Folgebeschwerden) together; "sonstige Anliegen" (questions, hints, requests)
  are counted apart and appear in no other table.
- Each complaint counts once in every table, by where it stood at the report's cut-off (the moment
  the report is produced, like the "Stand" of a published report): decided (with its outcome),
  forwarded, withdrawn, or still in progress. A decision after the cut-off is not yet a decision.
- Content areas are counted as *mentions*: a complaint counts in every area it concerns (its primary
  category and its further ones), so the areas may sum to more than the complaints.
- Processing time runs from receipt to the decision; "within one month" is at most 30 days, "within
  two months" at most 60 days, to the microsecond. Forwarded and withdrawn complaints got no decision
  and are not in it.
- Criminal and disciplinary follow-ups are flags of the decided complaints.

A directorate's report counts the complaints concerning a unit of that directorate (complaints that name
no unit appear only in the state's report).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, func, not_, select, true
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.audit_actions import ComplaintAuditAction
from complaints.domain import (
    CATEGORY_LABELS,
    OUTCOME_LABELS,
    Category,
    Channel,
    ComplaintStatus,
    ComplaintType,
    Outcome,
)
from complaints.models import Complaint, ComplaintCategory
from referral_service.identity.permissions import Permission
from referral_service.reporting.periods import REPORT_TIMEZONE, Period
from referral_service.reporting.scope import ReportScope, ScopeKind
from referral_service.reporting.service import DomainReport
from referral_service.reporting.sql import elapsed_at_most
from referral_service.reporting.suppression import Protection, Relation, SuppressionProblem, add_part
from referral_service.reporting.tables import COUNT_AND_SHARE, Column, Report, Row, Table, count_row

KIND = "complaints_annual"
TITLE = "Jahresbericht der Zentralen Beschwerdestelle der Polizei"
ONE_MONTH_SECONDS = 30 * 86_400
TWO_MONTHS_SECONDS = 60 * 86_400

CHANNEL_LABELS: Mapping[Channel, str] = {
    Channel.WEB: "Online-Formular",
    Channel.LETTER: "Brief",
    Channel.EMAIL: "E-Mail",
    Channel.FAX: "Fax",
    Channel.PHONE: "Telefon",
    Channel.IN_PERSON: "persönliche Vorsprache",
}

# Where a complaint stood at the cut-off, besides its outcome once decided.
FORWARDED = "forwarded"
WITHDRAWN = "withdrawn"
IN_PROGRESS = "in_progress"
RESULTS: Sequence[str] = (*(o.value for o in Outcome), FORWARDED, WITHDRAWN, IN_PROGRESS)
COUNTED_TYPES = (ComplaintType.COMPLAINT.value, ComplaintType.FOLLOW_UP.value)


@dataclass
class YearCounts:
    """The counts of one report: the complaints received in the period (complaints and follow-ups),
    each by where it stood at the cut-off, and the other concerns received beside them."""

    by_type: Counter[str] = field(default_factory=Counter)  # complaint, follow_up
    other_concerns: int = 0
    from_police_staff: int = 0
    channels: Counter[str] = field(default_factory=Counter)
    mentions: Counter[str] = field(default_factory=Counter)
    results: Counter[str] = field(default_factory=Counter)  # an outcome code or one of RESULTS
    criminal: int = 0
    disciplinary: int = 0
    within_one_month: int = 0
    within_two_months: int = 0

    @property
    def total(self) -> int:
        """Beschwerden insgesamt."""
        return sum(self.by_type[t] for t in COUNTED_TYPES)

    @property
    def decided(self) -> int:
        return sum(self.results[o.value] for o in Outcome)


def _scoped(scope: ReportScope) -> ColumnElement[bool]:
    if scope.kind is ScopeKind.STATE:
        return true()
    return col(Complaint.police_unit_id).in_(sorted(scope.unit_ids))


def _received(period: Period, scope: ReportScope, cutoff: dt.datetime) -> ColumnElement[bool]:
    c = Complaint.__table__  # type: ignore[attr-defined]
    return and_(
        c.c.received_at >= period.start,
        c.c.received_at < min(period.end, cutoff),
        _scoped(scope),
    )


async def year_counts(
    session: AsyncSession, period: Period, scope: ReportScope, *, cutoff: dt.datetime
) -> YearCounts:
    """Everything the report counts, from two grouped queries over plain columns."""
    c = Complaint.__table__  # type: ignore[attr-defined]
    decided = and_(c.c.outcome.is_not(None), c.c.decided_at < cutoff)
    # A decided complaint can only be closed afterwards (complaints.domain.TRANSITIONS), so "not decided"
    # here only guards against counting one complaint in two results.
    ended_without_decision = and_(not_(decided), c.c.closed_at < cutoff)
    aggregates = [
        func.count(),
        *(func.count().filter(decided, c.c.outcome == o.value) for o in Outcome),
        func.count().filter(ended_without_decision, c.c.status == ComplaintStatus.FORWARDED.value),
        func.count().filter(ended_without_decision, c.c.status == ComplaintStatus.WITHDRAWN.value),
        func.count().filter(decided, c.c.criminal_investigation.is_(True)),
        func.count().filter(decided, c.c.disciplinary_proceedings.is_(True)),
        func.count().filter(decided, elapsed_at_most(c.c.decided_at, c.c.received_at, ONE_MONTH_SECONDS)),
        func.count().filter(decided, elapsed_at_most(c.c.decided_at, c.c.received_at, TWO_MONTHS_SECONDS)),
    ]
    groups = (c.c.complaint_type, c.c.from_police_staff, c.c.channel, c.c.category)
    stmt = select(*groups, *aggregates).where(_received(period, scope, cutoff)).group_by(*groups)
    counts = YearCounts()
    for row in (await session.execute(stmt)).all():
        _add(counts, str(row[0]), bool(row[1]), str(row[2]), str(row[3]), [int(v) for v in row[4:]])
    # Further mentions; the primary one is `complaints.category`, counted above.
    m = ComplaintCategory.__table__  # type: ignore[attr-defined]
    further = (
        select(m.c.category, func.count())
        .join(c, c.c.id == m.c.complaint_id)
        .where(
            _received(period, scope, cutoff),
            c.c.complaint_type.in_(COUNTED_TYPES),
            m.c.category != c.c.category,
        )
        .group_by(m.c.category)
    )
    for category, n in (await session.execute(further)).all():
        counts.mentions[str(category)] += int(n)
    return counts


def _add(
    counts: YearCounts, kind: str, staff: bool, channel: str, category: str, values: Sequence[int]
) -> None:
    n, *rest = values
    if kind not in COUNTED_TYPES:
        counts.other_concerns += n
        return
    outcomes, rest = rest[: len(Outcome)], rest[len(Outcome) :]
    forwarded, withdrawn, criminal, disciplinary, one, two = rest
    counts.by_type[kind] += n
    counts.from_police_staff += n if staff else 0
    counts.channels[channel] += n
    counts.mentions[category] += n
    for outcome, decided in zip(Outcome, outcomes, strict=True):
        counts.results[outcome.value] += decided
    counts.results[FORWARDED] += forwarded
    counts.results[WITHDRAWN] += withdrawn
    counts.results[IN_PROGRESS] += n - sum(outcomes) - forwarded - withdrawn
    counts.criminal += criminal
    counts.disciplinary += disciplinary
    counts.within_one_month += one
    counts.within_two_months += two


def protect(counts: YearCounts) -> Protection:
    """Withhold small counts and whatever would let them be computed.

    All tables but the content areas are partitions of "Beschwerden insgesamt" (or of the decided
    complaints within it), declared as relations and protected with complements. Content-area mentions
    are no partition: a complaint counts in every area it concerns, so their sum exceeds the total by
    the number of further mentions, which the report does not publish. Each mention is therefore a cell
    of its own, withheld when small, and the report prints no sum of mentions, so no published figure
    equals a sum with one withheld mention in it. One exception: when no complaint names a further area,
    the mentions *are* a partition, and a reader who assumes one area per complaint would compute a lone
    withheld area as the total minus the others; then they are declared as one and protected like one.
    (What remains is a bound: total minus the published areas is at most the withheld ones' sum, see
    docs/reporting.md "What the protection does not cover".)
    """
    problem = SuppressionProblem()
    total = problem.cell("received", counts.total, margin=True)
    problem.structure(
        Relation(
            total,
            tuple(problem.cell(f"type:{t}", counts.by_type[t]) for t in COUNTED_TYPES),
        )
    )
    problem.structure(
        Relation(
            total,
            (
                problem.cell("from_citizens", counts.total - counts.from_police_staff),
                problem.cell("police_staff", counts.from_police_staff),
            ),
        )
    )
    problem.structure(
        Relation(
            total, tuple(problem.cell(f"channel:{ch.value}", counts.channels[ch.value]) for ch in Channel)
        )
    )
    mentions = tuple(problem.cell(f"category:{cat.value}", counts.mentions[cat.value]) for cat in Category)
    if sum(counts.mentions.values()) == counts.total:
        problem.structure(Relation(total, mentions))
    problem.cell("other_concerns", counts.other_concerns)

    decided = problem.cell("decided", counts.decided, margin=True)
    problem.structure(
        Relation(
            total,
            (
                decided,
                *(
                    problem.cell(f"result:{r}", counts.results[r])
                    for r in (FORWARDED, WITHDRAWN, IN_PROGRESS)
                ),
            ),
        ),
        Relation(decided, tuple(problem.cell(f"result:{o.value}", counts.results[o.value]) for o in Outcome)),
    )
    # Nested counts: decided >= within two months >= within one month; the differences are hidden
    # cells, so "decided after two months" cannot be computed when it is small.
    problem.cell("within_2m", counts.within_two_months, margin=True)
    problem.cell("within_1m", counts.within_one_month)
    problem.structure(
        Relation(
            decided,
            ("within_2m", problem.cell("over_2m", counts.decided - counts.within_two_months, hidden=True)),
        ),
        Relation(
            "within_2m",
            (
                "within_1m",
                problem.cell(
                    "between_1m_2m", counts.within_two_months - counts.within_one_month, hidden=True
                ),
            ),
        ),
    )
    add_part(problem, decided, "criminal", counts.criminal)
    add_part(problem, decided, "disciplinary", counts.disciplinary)
    return problem.solve()


async def complaints_annual_report(
    session: AsyncSession, period: Period, scope: ReportScope, *, now: dt.datetime
) -> Report:
    counts = await year_counts(session, period, scope, cutoff=now)
    protection = protect(counts)
    as_of = now.astimezone(REPORT_TIMEZONE).strftime("%d.%m.%Y")
    return Report(
        kind=KIND,
        title=TITLE,
        period=period,
        scope=scope,
        generated_at=now,
        tables=(
            Table(
                key="received",
                title="Zählweise und Anzahl der Beschwerden",
                columns=tuple(COUNT_AND_SHARE),
                rows=(
                    count_row(protection, "complaints", "Beschwerden", "type:complaint", "received"),
                    count_row(protection, "follow_ups", "Folgebeschwerden", "type:follow_up", "received"),
                    count_row(
                        protection, "total", "Beschwerden insgesamt", "received", "received", total=True
                    ),
                    count_row(
                        protection,
                        "from_citizens",
                        "davon von Bürgerinnen und Bürgern",
                        "from_citizens",
                        "received",
                    ),
                    count_row(
                        protection,
                        "from_police_staff",
                        "davon von Polizeibediensteten",
                        "police_staff",
                        "received",
                    ),
                ),
                note=(
                    "Beschwerden insgesamt: Beschwerden und Folgebeschwerden zusammen. "
                    "Bürgerinnen und Bürger: alle, die nicht als Polizeibedienstete schreiben, auch anonym "
                    "oder für eine Organisation."
                ),
            ),
            _list_table(
                protection,
                "channels",
                "Beschwerdewege",
                [(f"channel:{ch.value}", ch.value, CHANNEL_LABELS[ch]) for ch in Channel],
            ),
            Table(
                key="categories",
                title="Beschwerdeinhalte (Mehrfachnennungen)",
                columns=tuple(COUNT_AND_SHARE),
                rows=tuple(
                    count_row(
                        protection, cat.value, CATEGORY_LABELS[cat], f"category:{cat.value}", "received"
                    )
                    for cat in Category
                ),
                note=(
                    "Eine Beschwerde zählt in jedem Bereich, den sie betrifft; die Nennungen können "
                    "daher mehr sein als die Beschwerden insgesamt. Anteil: an den Beschwerden insgesamt."
                ),
            ),
            Table(
                key="outcomes",
                title="Ergebnisse",
                columns=tuple(COUNT_AND_SHARE),
                rows=(
                    *(
                        count_row(protection, o.value, OUTCOME_LABELS[o], f"result:{o.value}", "received")
                        for o in Outcome
                    ),
                    count_row(
                        protection, "decided", "entschieden zusammen", "decided", "received", total=True
                    ),
                    count_row(
                        protection,
                        FORWARDED,
                        "abgegeben (ohne Entscheidung)",
                        f"result:{FORWARDED}",
                        "received",
                    ),
                    count_row(protection, WITHDRAWN, "zurückgenommen", f"result:{WITHDRAWN}", "received"),
                    count_row(
                        protection, IN_PROGRESS, "noch in Bearbeitung", f"result:{IN_PROGRESS}", "received"
                    ),
                    count_row(
                        protection, "total", "Beschwerden insgesamt", "received", "received", total=True
                    ),
                ),
                note=f"Stand: {as_of}. Jede Beschwerde zählt einmal, mit dem Stand ihrer Bearbeitung.",
            ),
            Table(
                key="processing_time",
                title="Bearbeitungsdauer",
                columns=tuple(COUNT_AND_SHARE),
                rows=(
                    count_row(
                        protection, "decided", "entschiedene Beschwerden", "decided", "decided", total=True
                    ),
                    count_row(protection, "within_one_month", "binnen eines Monats", "within_1m", "decided"),
                    count_row(
                        protection, "within_two_months", "binnen zweier Monate", "within_2m", "decided"
                    ),
                ),
                note="Vom Eingang bis zur Entscheidung; ein Monat = 30 Tage, zwei Monate = 60 Tage.",
            ),
            Table(
                key="follow_ups",
                title="Strafrechtliche und disziplinarrechtliche Prüfung",
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
                note="Anteil an den entschiedenen Beschwerden.",
            ),
            Table(
                key="other_concerns",
                title="Sonstige Anliegen",
                columns=(Column("count", "Anzahl"),),
                rows=(
                    Row(
                        key="total",
                        label="sonstige Anliegen",
                        values={"count": protection.published("other_concerns")},
                        total=True,
                    ),
                ),
                note=(
                    "Anfragen, Hinweise und Anregungen: gesondert bearbeitet, "
                    "nicht unter den Beschwerden gezählt."
                ),
            ),
        ),
        notes=(
            "Gezählt werden die im Zeitraum eingegangenen Beschwerden; Ergebnisse, Bearbeitungsdauer und "
            f"Folgemaßnahmen mit dem Stand vom {as_of}.",
        ),
    )


def _list_table(
    protection: Protection, key: str, title: str, entries: Iterable[tuple[str, str, str]]
) -> Table:
    """A partition of "Beschwerden insgesamt": (cell, row key, label) per part, then the total."""
    return Table(
        key=key,
        title=title,
        columns=tuple(COUNT_AND_SHARE),
        rows=(
            *(count_row(protection, code, label, cell, "received") for cell, code, label in entries),
            count_row(protection, "total", "Beschwerden insgesamt", "received", "received", total=True),
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
