"""Report generation on PostgreSQL (target: each report under 1 second).

Loads 1,000,000 referrals and 100,000 complaints with COPY into a scratch database (plain statistical
columns only; encrypted columns and data keys NULL, as the reports never read them), seeded with the
Saxon demo organisation for valid foreign keys, then times the service's own report functions end to
end (scope lookup, every aggregation query, suppression, table assembly) as the API calls them.

The worst case is measured: every referral and every complaint lies in the reported year, so the
year's report aggregates all of them. A quarter and a directorate are measured too.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from bench._report import write_section
from bench.pg_scratch import scratch_database
from complaints.domain import Category, Channel, Outcome
from complaints.reports import complaints_annual_report
from referral_service.db import create_database_engine, create_session_factory
from referral_service.identity.config import IdentityConfig, PasswordHashing
from referral_service.identity.demo import seed_demo
from referral_service.referrals.domain import OffenceCategory, SupportKind
from referral_service.referrals.policy import ReferralPolicy
from referral_service.referrals.reports import cooperation
from referral_service.reporting.periods import period_of
from referral_service.reporting.scope import resolve_scope
from referral_service.reporting.tables import Report

TARGET_SECONDS = 1.0
YEAR = 2025
START = dt.datetime(YEAR, 1, 1, tzinfo=dt.UTC)
SPAN_SECONDS = 364 * 86_400

REFERRAL_COLUMNS = [
    "id",
    "status",
    "referring_station_id",
    "referring_officer_id",
    "branch_id",
    "offence_category",
    "hate_crime",
    "incident_month",
    "requested_support",
    "urgency",
    "language",
    "interpreter_needed",
    "consent_given_by",
    "consent_given_at",
    "consent_form",
    "consent_scope",
    "consent_recorded_by_id",
    "support_given",
    "submitted_at",
    "accepted_at",
    "first_contact_at",
    "closed_at",
    "withdrawn_at",
    "declined_at",
    "close_outcome",
    "escalation_level",
    "updated_at",
]

COMPLAINT_COLUMNS = [
    "id",
    "reference",
    "year",
    "sequence",
    "access_code_hash",
    "complaint_type",
    "complainant_kind",
    "from_police_staff",
    "channel",
    "category",
    "status",
    "identity_confidential",
    "police_unit_id",
    "outcome",
    "no_decision_reason",
    "criminal_investigation",
    "disciplinary_proceedings",
    "draft_criminal_investigation",
    "draft_disciplinary_proceedings",
    "received_at",
    "received_on",
    "decided_at",
    "closed_at",
    "updated_at",
]


async def seed_directory(engine: AsyncEngine) -> tuple[list[uuid.UUID], list[uuid.UUID], uuid.UUID]:
    """(police station and directorate ids, WR branch ids, an officer's user id)."""
    config = IdentityConfig(
        password_hashing=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1)
    )
    async with create_session_factory(engine)() as session, session.begin():
        await seed_demo(session, config=config, secret=b"bench-secret-key-bench-secret-key!!")
    connection = await asyncpg.connect(str(engine.url).replace("postgresql+asyncpg", "postgresql"))
    try:
        police = [
            r["id"]
            for r in await connection.fetch(
                "SELECT id FROM org_units WHERE kind IN ('police_station', 'police_directorate') ORDER BY path"
            )
        ]
        branches = [
            r["id"] for r in await connection.fetch("SELECT id FROM org_units WHERE kind = 'wr_branch'")
        ]
        officer = await connection.fetchval("SELECT id FROM users WHERE username = 'officer.dresden'")
    finally:
        await connection.close()
    return police, branches, officer


def referral_rows(
    count: int, police: list[uuid.UUID], branches: list[uuid.UUID], officer: uuid.UUID
) -> list[tuple[object, ...]]:
    rng = random.Random(8)
    categories = [c.value for c in OffenceCategory]
    kinds = [k.value for k in SupportKind]
    rows = []
    for _ in range(count):
        submitted = START + dt.timedelta(seconds=rng.randrange(SPAN_SECONDS))
        roll = rng.random()
        accepted = submitted + dt.timedelta(minutes=rng.randrange(10, 3000)) if roll < 0.8 else None
        contact = (
            accepted + dt.timedelta(minutes=rng.randrange(30, 6000)) if accepted and roll < 0.7 else None
        )
        closed = contact + dt.timedelta(days=rng.randrange(1, 60)) if contact and roll < 0.5 else None
        withdrawn = submitted + dt.timedelta(hours=rng.randrange(1, 100)) if roll > 0.95 else None
        declined = submitted + dt.timedelta(hours=2) if rng.random() < 0.05 else None
        support = ",".join(sorted(rng.sample(kinds, rng.randrange(1, 3)))) if closed else ""
        status = (
            "withdrawn"
            if withdrawn
            else "closed"
            if closed
            else "in_contact"
            if contact
            else "accepted"
            if accepted
            else "submitted"
        )
        rows.append(
            (
                uuid.uuid4(),
                status,
                rng.choice(police),
                officer,
                rng.choice(branches),
                rng.choice(categories),
                rng.random() < 0.05,
                submitted.strftime("%Y-%m"),
                "personal_support",
                "normal",
                "de",
                False,
                "victim",
                submitted,
                "written",
                "transfer_to_wr_for_contact_and_support",
                officer,
                support,
                submitted,
                accepted,
                contact,
                closed,
                withdrawn,
                declined,
                "supported" if closed else None,
                0,
                closed or contact or accepted or submitted,
            )
        )
    return rows


def complaint_rows(count: int, police: list[uuid.UUID]) -> list[tuple[object, ...]]:
    rng = random.Random(9)
    channels = [c.value for c in Channel]
    categories = [c.value for c in Category]
    outcomes = [o.value for o in Outcome]
    rows = []
    for sequence in range(1, count + 1):
        received = START + dt.timedelta(seconds=rng.randrange(SPAN_SECONDS))
        decided = received + dt.timedelta(days=rng.randrange(3, 120)) if rng.random() < 0.9 else None
        outcome = rng.choice(outcomes) if decided else None
        staff = rng.random() < 0.1
        rows.append(
            (
                uuid.uuid4(),
                f"BS-{YEAR}-{sequence:06d}",
                YEAR,
                sequence,
                "not-a-hash",
                "complaint",
                "police_employee" if staff else "citizen",
                staff,
                rng.choice(channels),
                rng.choice(categories),
                "closed" if decided else "in_progress",
                False,
                rng.choice(police) if rng.random() < 0.8 else None,
                outcome,
                "facts_not_established" if outcome == "no_decision" else None,
                bool(decided) and rng.random() < 0.05,
                bool(decided) and rng.random() < 0.02,
                False,
                False,
                received,
                received.date(),
                decided,
                decided + dt.timedelta(days=2) if decided else None,
                decided or received,
            )
        )
    return rows


async def load(dsn: str, referrals: list[tuple[object, ...]], complaints: list[tuple[object, ...]]) -> float:
    connection = await asyncpg.connect(dsn)
    started = time.perf_counter()
    try:
        await connection.copy_records_to_table("referrals", records=referrals, columns=REFERRAL_COLUMNS)
        await connection.copy_records_to_table("complaints", records=complaints, columns=COMPLAINT_COLUMNS)
        await connection.execute("VACUUM ANALYZE referrals")
        await connection.execute("VACUUM ANALYZE complaints")
    finally:
        await connection.close()
    return time.perf_counter() - started


async def timed(
    engine: AsyncEngine, build: Callable[[], Awaitable[Report]], runs: int
) -> tuple[float, float, float]:
    """(first run, best, median) seconds."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        await build()
        timings.append(time.perf_counter() - started)
    return timings[0], min(timings), statistics.median(timings)


async def main(referral_count: int, complaint_count: int, runs: int) -> None:
    async with scratch_database("reports") as (url, dsn):
        engine = create_database_engine(url)
        try:
            police, branches, officer = await seed_directory(engine)
            print(f"generating {referral_count:,} referrals and {complaint_count:,} complaints ...")
            referrals = referral_rows(referral_count, police, branches, officer)
            complaints = complaint_rows(complaint_count, police)
            print("loading with COPY ...")
            load_seconds = await load(dsn, referrals, complaints)
            del referrals, complaints
            factory = create_session_factory(engine)

            def report(
                kind: str, quarter: int | None, directorate: str | None
            ) -> Callable[[], Awaitable[Report]]:
                async def build() -> Report:
                    async with factory() as session:
                        scope = await resolve_scope(session, directorate)
                        builder = (
                            cooperation(ReferralPolicy()).builder
                            if kind == "cooperation"
                            else complaints_annual_report
                        )
                        return await builder(
                            session, period_of(YEAR, quarter), scope, now=dt.datetime.now(dt.UTC)
                        )

                return build

            cases = [
                ("cooperation", None, None, referral_count),
                ("cooperation", 2, None, None),
                ("cooperation", None, "pd-dresden", None),
                ("complaints_annual", None, None, complaint_count),
                ("complaints_annual", 2, None, None),
                ("complaints_annual", None, "pd-dresden", None),
            ]
            results = []
            for kind, quarter, directorate, rows in cases:
                first, best, median = await timed(engine, report(kind, quarter, directorate), runs)
                label = f"{YEAR}" + (f"-Q{quarter}" if quarter else "")
                scope = directorate or "state"
                print(
                    f"{kind} {label} {scope}: first {first:.3f} s, best {best:.3f} s, median {median:.3f} s"
                )
                results.append((kind, label, scope, rows, first, best, median))
        finally:
            await engine.dispose()

    met = all(r[6] < TARGET_SECONDS for r in results)
    lines = "\n".join(
        f"| {kind} | {label} | {scope} | {first:.3f} | {best:.3f} | {median:.3f} |"
        for kind, label, scope, _rows, first, best, median in results
    )
    write_section(
        "reports",
        "Reports (PostgreSQL)",
        f"""`make bench-reports`: {referral_count:,} referrals and {complaint_count:,} complaints loaded with COPY
({load_seconds:.0f} s including VACUUM ANALYZE), every one of them in the reported year {YEAR}, so the year's
report aggregates them all. Timed: the service's report functions as the API calls them (scope lookup,
all aggregation queries, medians, suppression, tables); {runs} runs each, the first one included.

| report | period | scope | first (s) | best (s) | median (s) |
|---|---|---|---:|---:|---:|
{lines}

The cooperation report reads its cohort with two queries at once (counts; the two medians) on one
shared snapshot; a quarter among the year is read from migration 0006's covering index.

Target (each report under {TARGET_SECONDS:.0f} s, median of the runs): **{"met" if met else "NOT met"}**.""",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--referrals", type=int, default=1_000_000)
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.referrals, args.complaints, args.runs))
