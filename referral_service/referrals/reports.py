"""The cooperation-agreement report of police and WEISSER RING, from plain columns only.

All figures describe one cohort: the referrals *submitted* in the period by the police units in scope,
with what has happened to them by the time the report is made. Nothing is decrypted; the queries read
status, offence category, timestamps, unit ids, close outcome and support codes.

Tables and the relations that bind them (each protected as in `referral_service.reporting.suppression`):

- by unit x offence category, with row, column and grand totals (a two-way table);
- by offence category: the column totals of that table with their share of all referrals (the way the
  WEISSER RING publishes its offence mix), so no cell of its own and nothing further to protect;
- processing: submitted = accepted + (not accepted); accepted = first contact + (no contact);
  first contact = within the contact deadline + (later); declined by a branch and consent withdrawn,
  each with its remainder; the remainders are never shown but protected like shown cells;
- support given: cases closed with support, and per kind of support, each with its remainder;
- joint cooperation activities (events, not people: not suppressed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

from sqlalchemy import ColumnElement, Index, and_, case, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.permissions import Permission
from referral_service.referrals.audit_actions import ReferralAuditAction
from referral_service.referrals.domain import OffenceCategory, ReferralStatus, SupportKind
from referral_service.referrals.models import Referral
from referral_service.referrals.policy import ReferralPolicy
from referral_service.reporting import repository as reporting_repository
from referral_service.reporting.models import ACTIVITY_LABELS, ActivityKind
from referral_service.reporting.periods import Period
from referral_service.reporting.scope import ReportScope, ScopeKind
from referral_service.reporting.service import DomainReport
from referral_service.reporting.sql import Median, elapsed_at_most, elapsed_seconds, medians, together
from referral_service.reporting.suppression import (
    CrossTable,
    Protection,
    Relation,
    SuppressionProblem,
    add_cross_table,
    add_part,
)
from referral_service.reporting.tables import (
    COUNT_AND_SHARE,
    Column,
    Report,
    Row,
    Table,
    ValueKind,
    count_row,
    hours,
)

KIND = "cooperation"

# Every column the report reads, keyed by the submission time: a quarter's or a year's referrals are
# read from the index alone (PostgreSQL index-only scan, SQLite covering index) instead of from rows
# that are mostly ciphertext. Created by migration 0006; declared here, beside the queries it serves.
STATISTICS_INDEX = Index(
    "ix_referrals_statistics",
    *(
        Referral.__table__.c[name]  # type: ignore[attr-defined]
        for name in (
            "submitted_at",
            "referring_station_id",
            "offence_category",
            "status",
            "accepted_at",
            "first_contact_at",
            "declined_at",
            "withdrawn_at",
            "support_given",
        )
    ),
)
TITLE = "Kooperationsbericht Polizei und WEISSER RING"

OFFENCE_LABELS: Mapping[OffenceCategory, str] = {
    OffenceCategory.CHILD_SEXUAL_ABUSE: "sexueller Missbrauch von Kindern",
    OffenceCategory.RAPE_SEXUAL_ASSAULT: "Vergewaltigung, sexuelle Nötigung, sexueller Übergriff",
    OffenceCategory.OTHER_SEXUAL_OFFENCE: "sonstige Sexualdelikte",
    OffenceCategory.SEXUAL_OFFENCE_UNSPECIFIED: "Sexualdelikt, nicht näher bestimmt",
    OffenceCategory.DOMESTIC_VIOLENCE: "häusliche Gewalt",
    OffenceCategory.BODILY_HARM: "Körperverletzung (ohne häusliche Gewalt)",
    OffenceCategory.STALKING: "Nachstellung",
    OffenceCategory.THREAT: "Bedrohung",
    OffenceCategory.ROBBERY: "Raub",
    OffenceCategory.BURGLARY: "Wohnungseinbruch",
    OffenceCategory.FRAUD: "Betrug",
    OffenceCategory.HOMICIDE_RELATIVES: "Angehörige von Tötungsopfern",
    OffenceCategory.OTHER: "Sonstiges",
}

SUPPORT_LABELS: Mapping[SupportKind, str] = {
    SupportKind.PERSONAL_SUPPORT: "menschlicher Beistand, persönliche Betreuung",
    SupportKind.ACCOMPANIMENT: "Begleitung zu Polizei, Gericht, Behörden",
    SupportKind.LEGAL_ADVICE_VOUCHER: "Beratungsscheck anwaltliche Erstberatung",
    SupportKind.PSYCHOTRAUMA_VOUCHER: "Beratungsscheck psychotraumatologische Erstberatung",
    SupportKind.FINANCIAL_AID: "finanzielle Hilfe",
    SupportKind.REFERRAL_TO_OTHER_SERVICES: "Vermittlung an andere Hilfen",
}


@dataclass
class Counts:
    """Counts of one group of referrals (one unit and offence category, or any sum of such)."""

    submitted: int = 0
    accepted: int = 0
    contacted: int = 0
    within_deadline: int = 0
    declined: int = 0
    withdrawn: int = 0
    helped: int = 0
    personal_support: int = 0
    accompaniment: int = 0
    legal_advice_voucher: int = 0
    psychotrauma_voucher: int = 0
    financial_aid: int = 0
    referral_to_other_services: int = 0

    def add(self, other: Counts) -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))

    def support(self, kind: SupportKind) -> int:
        value: int = getattr(self, kind.value)
        return value


async def cohort_counts(
    session: AsyncSession, period: Period, scope: ReportScope, contact_within: dt.timedelta
) -> dict[tuple[str, str], Counts]:
    """{(scope row key, offence category): Counts} of the referrals submitted in the period; first
    contact in time means within `contact_within` of submission.

    One scan. The support given is grouped by (a closed case's code set has at most 2^6 values) rather
    than matched per kind, which is several times cheaper on a million rows."""
    r = Referral.__table__  # type: ignore[attr-defined]
    contacted = r.c.first_contact_at.is_not(None)
    support = case((r.c.status == ReferralStatus.CLOSED.value, r.c.support_given), else_="").label("support")
    measures = {
        "submitted": func.count(),
        "accepted": func.count().filter(r.c.accepted_at.is_not(None)),
        "contacted": func.count().filter(contacted),
        "within_deadline": func.count().filter(
            and_(
                contacted,
                elapsed_at_most(r.c.first_contact_at, r.c.submitted_at, int(contact_within.total_seconds())),
            )
        ),
        "declined": func.count().filter(r.c.declined_at.is_not(None)),
        "withdrawn": func.count().filter(r.c.withdrawn_at.is_not(None)),
    }
    stmt = (
        select(
            r.c.referring_station_id,
            r.c.offence_category,
            support,
            *(m.label(k) for k, m in measures.items()),
        )
        .where(_in_cohort(period, scope))
        .group_by(r.c.referring_station_id, r.c.offence_category, support)
    )
    row_of = scope.row_keys_by_unit()
    found: dict[tuple[str, str], Counts] = {}
    for row in (await session.execute(stmt)).all():
        counts = Counts(**{k: int(row[3 + i]) for i, k in enumerate(measures)})
        codes = {code for code in str(row[2]).split(",") if code}
        if codes:
            counts.helped = counts.submitted
            for kind in SupportKind:
                if kind.value in codes:
                    setattr(counts, kind.value, counts.submitted)
        found.setdefault((row_of[row[0]], str(row[1])), Counts()).add(counts)
    return found


async def cohort_medians(session: AsyncSession, period: Period, scope: ReportScope) -> dict[str, Median]:
    """Median seconds from submission to acceptance and to first contact."""
    r = Referral.__table__  # type: ignore[attr-defined]
    source = select(
        elapsed_seconds(r.c.accepted_at, r.c.submitted_at).label("acceptance"),
        elapsed_seconds(r.c.first_contact_at, r.c.submitted_at).label("first_contact"),
    ).where(_in_cohort(period, scope), r.c.accepted_at.is_not(None))
    return await medians(session, source, ["acceptance", "first_contact"])


def _in_cohort(period: Period, scope: ReportScope) -> ColumnElement[bool]:
    r = Referral.__table__  # type: ignore[attr-defined]
    return and_(
        r.c.submitted_at >= period.start,
        r.c.submitted_at < period.end,
        r.c.referring_station_id.in_(scope.unit_ids_query()),
    )


async def cooperation_report(
    session: AsyncSession,
    period: Period,
    scope: ReportScope,
    *,
    now: dt.datetime,
    contact_within: dt.timedelta,
) -> Report:
    """The report, with first contact counted as in time within `contact_within` of submission: the
    contact deadline the escalation and the station's feedback use too (`ReferralPolicy`)."""
    deadline_hours = int(contact_within / dt.timedelta(hours=1))
    counts, durations = await together(
        session,
        lambda s: cohort_counts(s, period, scope, contact_within),
        lambda s: cohort_medians(s, period, scope),
    )
    activities = await reporting_repository.activity_totals(
        session, period.first_day, period.last_day, scope.path
    )
    rows = [row.key for row in scope.rows]
    categories = [category.value for category in OffenceCategory]
    total = Counts()
    for value in counts.values():
        total.add(value)
    protection = protect(counts, rows, categories, total)
    return Report(
        kind=KIND,
        title=TITLE,
        period=period,
        scope=scope,
        generated_at=now,
        tables=(
            _by_unit_table(protection, scope, categories),
            _by_offence_table(protection, categories),
            _processing_table(protection, deadline_hours),
            _durations_table(protection, durations),
            _support_table(protection),
            _activities_table(activities),
        ),
        notes=(
            "Alle Angaben beziehen sich auf die im Zeitraum übermittelten Fälle, mit ihrem Stand bei "
            "Erstellung des Berichts.",
            f"Erstkontakt binnen {deadline_hours} Stunden (der eingestellten Kontaktfrist): gerechnet ab "
            "der Übermittlung durch die Polizei.",
        ),
    )


UNITS = "unit"


def protect(
    counts: Mapping[tuple[str, str], Counts], rows: Sequence[str], categories: Sequence[str], total: Counts
) -> Protection:
    problem = SuppressionProblem()
    by_unit = add_cross_table(
        problem,
        UNITS,
        rows,
        categories,
        {key: value.submitted for key, value in counts.items()},
        grand_total="submitted",
    )
    submitted = by_unit.grand_total
    # submitted = accepted + not accepted; accepted = contacted + not contacted; contacted = within + later.
    accepted = problem.cell("accepted", total.accepted, margin=True)
    contacted = problem.cell("contacted", total.contacted, margin=True)
    within = problem.cell("within_deadline", total.within_deadline)
    problem.structure(
        Relation(submitted, (accepted, _hidden(problem, "not_accepted", total.submitted - total.accepted))),
        Relation(accepted, (contacted, _hidden(problem, "not_contacted", total.accepted - total.contacted))),
        Relation(
            contacted,
            (within, _hidden(problem, "contacted_later", total.contacted - total.within_deadline)),
        ),
    )
    add_part(problem, submitted, "declined", total.declined)
    add_part(problem, submitted, "withdrawn", total.withdrawn)
    helped = add_part(problem, submitted, "helped", total.helped, margin=True)
    for kind in SupportKind:
        add_part(problem, helped, f"support:{kind.value}", total.support(kind))
    return problem.solve()


def _hidden(problem: SuppressionProblem, name: str, value: int) -> str:
    return problem.cell(name, value, hidden=True)


def _by_unit_table(protection: Protection, scope: ReportScope, categories: Sequence[str]) -> Table:
    table = CrossTable(UNITS, "submitted")

    def values(row: str) -> dict[str, int | float | None]:
        if row == "total":
            found = {c: protection.published(table.column_total(c)) for c in categories}
            found["total"] = protection.published(table.grand_total)
        else:
            found = {c: protection.published(table.cell(row, c)) for c in categories}
            found["total"] = protection.published(table.row_total(row))
        return dict(found)

    unit_label = "Polizeidirektion" if scope.kind is ScopeKind.STATE else "Dienststelle"
    return Table(
        key="referrals_by_unit",
        title=f"Übermittelte Fälle nach {unit_label} und Deliktsbereich",
        note="Anteile der Deliktsbereiche: Tabelle „Übermittelte Fälle nach Deliktsbereich“.",
        columns=(
            *(Column(c, OFFENCE_LABELS[OffenceCategory(c)]) for c in categories),
            Column("total", "insgesamt"),
        ),
        rows=(
            *(Row(row.key, row.label, values(row.key)) for row in scope.rows),
            Row("total", "Insgesamt", values("total"), total=True),
        ),
    )


def _by_offence_table(protection: Protection, categories: Sequence[str]) -> Table:
    table = CrossTable(UNITS, "submitted")
    labels = {c: OFFENCE_LABELS[OffenceCategory(c)] for c in categories}
    return Table(
        key="referrals_by_offence",
        title="Übermittelte Fälle nach Deliktsbereich",
        columns=tuple(COUNT_AND_SHARE),
        rows=(
            *(
                count_row(protection, c, labels[c], table.column_total(c), table.grand_total)
                for c in categories
            ),
            count_row(protection, "total", "Insgesamt", table.grand_total, table.grand_total, total=True),
        ),
        note=(
            "Anteil: an allen im Zeitraum übermittelten Fällen. „Sexualdelikt, nicht näher bestimmt“: "
            "vor der Aufteilung der Sexualdelikte erfasste Fälle."
        ),
    )


def _processing_table(protection: Protection, deadline_hours: int) -> Table:
    return Table(
        key="processing",
        title="Bearbeitung der übermittelten Fälle",
        columns=tuple(COUNT_AND_SHARE),
        rows=(
            count_row(protection, "submitted", "übermittelte Fälle", "submitted", "submitted", total=True),
            count_row(protection, "accepted", "angenommen", "accepted", "submitted"),
            count_row(protection, "first_contact", "Erstkontakt hergestellt", "contacted", "submitted"),
            count_row(
                protection,
                "contacted_within_deadline",
                f"Erstkontakt binnen {deadline_hours} Stunden",
                "within_deadline",
                "submitted",
            ),
            count_row(
                protection, "declined_by_branch", "von einer Außenstelle abgegeben", "declined", "submitted"
            ),
            count_row(protection, "consent_withdrawn", "Einwilligung widerrufen", "withdrawn", "submitted"),
        ),
        note="Anteil: an allen im Zeitraum übermittelten Fällen.",
    )


def _durations_table(protection: Protection, medians: Mapping[str, Median]) -> Table:
    def row(key: str, label: str, measure: str, cases: str) -> Row:
        median = medians[measure]
        return Row(
            key,
            label,
            {"cases": protection.published(cases), "median_hours": hours(median.value, median.cases)},
        )

    return Table(
        key="durations",
        title="Zeit ab Übermittlung",
        columns=(Column("cases", "Fälle"), Column("median_hours", "Median in Stunden", ValueKind.HOURS)),
        rows=(
            row("to_acceptance", "bis zur Annahme", "acceptance", "accepted"),
            row("to_first_contact", "bis zum Erstkontakt", "first_contact", "contacted"),
        ),
    )


def _support_table(protection: Protection) -> Table:
    return Table(
        key="support_given",
        title="Geleistete Hilfe",
        columns=tuple(COUNT_AND_SHARE),
        rows=(
            count_row(
                protection,
                "closed_with_support",
                "abgeschlossene Fälle mit Hilfe",
                "helped",
                "helped",
                total=True,
            ),
            *(
                count_row(protection, kind.value, SUPPORT_LABELS[kind], f"support:{kind.value}", "helped")
                for kind in SupportKind
            ),
        ),
        note="Mehrfachnennungen möglich; Anteil an den abgeschlossenen Fällen mit Hilfe.",
    )


def _activities_table(totals: Mapping[str, tuple[int, int]]) -> Table:
    rows = [
        Row(
            kind.value,
            ACTIVITY_LABELS[kind],
            {"count": totals.get(kind.value, (0, 0))[0], "participants": totals.get(kind.value, (0, 0))[1]},
        )
        for kind in ActivityKind
    ]
    rows.append(
        Row(
            "total",
            "Insgesamt",
            {"count": sum(c for c, _ in totals.values()), "participants": sum(p for _, p in totals.values())},
            total=True,
        )
    )
    return Table(
        key="activities",
        title="Gemeinsame Kooperationsaktivitäten",
        columns=(Column("count", "Anzahl"), Column("participants", "Teilnehmende")),
        rows=tuple(rows),
        note="Veranstaltungen, keine Personen: nicht geheimgehalten.",
    )


def cooperation(policy: ReferralPolicy) -> DomainReport:
    """The report as declared for one configuration: first contact counted against its contact deadline."""

    async def build(session: AsyncSession, period: Period, scope: ReportScope, *, now: dt.datetime) -> Report:
        return await cooperation_report(session, period, scope, now=now, contact_within=policy.contact_within)

    return DomainReport(
        name="cooperation",
        kind=KIND,
        builder=build,
        read_action=ReferralAuditAction.REPORT_READ,
        permission=Permission.REPORT_COOPERATION_READ,
        summary="Cooperation-agreement report (police and WEISSER RING)",
    )
