"""Realistic volume for the list benchmarks: 100,000 referrals, 20,000 complaints and their audit trail,
spread over the demo organisation the way a state's years of work would be.

Rows are built as the service builds them (a data key per case, the fields sealed under it, the blind
index of the police case number), then written in bulk: going through the API would take the better
part of an hour for the same rows and measure nothing the list benchmark is about.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from complaints.domain import Category, Channel, ComplainantKind, ComplaintStatus, ComplaintType
from complaints.models import Complaint
from crypto import DataKey
from referral_service.db import create_session_factory
from referral_service.identity.models import OrgUnit, RoleAssignment, User
from referral_service.identity.roles import Role, UnitKind
from referral_service.keys.fields import seal
from referral_service.keys.models import DataKeyRecord
from referral_service.keys.service import CaseKeys
from referral_service.referrals.domain import SELECTABLE_OFFENCES, DeclineReason, ReferralStatus, Urgency
from referral_service.referrals.models import Referral, ReferralReferenceCounter
from referral_service.settings import LOCAL_TIMEZONE

E = TypeVar("E")

BATCH = 2_000
YEARS = 3
# Share of referrals per status: most cases of past years are closed.
_REFERRAL_STATES = [
    (ReferralStatus.CLOSED, 70),
    (ReferralStatus.SUBMITTED, 6),
    (ReferralStatus.ACCEPTED, 6),
    (ReferralStatus.CONTACT_ATTEMPTED, 3),
    (ReferralStatus.IN_CONTACT, 7),
    (ReferralStatus.DECLINED_BY_BRANCH, 4),
    (ReferralStatus.WITHDRAWN, 4),
]
_COMPLAINT_STATES = [
    (ComplaintStatus.CLOSED, 70),
    (ComplaintStatus.RECEIVED, 5),
    (ComplaintStatus.TRIAGE, 5),
    (ComplaintStatus.IN_PROGRESS, 8),
    (ComplaintStatus.STATEMENT_REQUESTED, 4),
    (ComplaintStatus.STATEMENT_RECEIVED, 3),
    (ComplaintStatus.DECISION, 2),
    (ComplaintStatus.FORWARDED, 2),
    (ComplaintStatus.WITHDRAWN, 1),
]
_CITIES = ["Dresden", "Leipzig", "Chemnitz", "Zwickau", "Plauen", "Görlitz", "Bautzen", "Meißen", "Freiberg"]


@dataclass(frozen=True, slots=True)
class Volume:
    referrals: int
    complaints: int
    audit_events: int


def _pick(rng: random.Random, weighted: Sequence[tuple[E, int]]) -> E:
    return rng.choices([value for value, _ in weighted], weights=[weight for _, weight in weighted])[0]


async def seed_volume(
    engine: AsyncEngine,
    keys: CaseKeys,
    *,
    referrals: int = 100_000,
    complaints: int = 20_000,
    audit_events: int = 300_000,
    now: dt.datetime | None = None,
) -> Volume:
    """Write the volume into a database that already holds the demo organisation and users."""
    now = now or dt.datetime.now(dt.UTC)
    rng = random.Random(16)
    factory = create_session_factory(engine)
    async with factory() as session:
        units = (await session.execute(select(OrgUnit))).scalars().all()
        members = (await session.execute(select(User, col(RoleAssignment.role)).join(RoleAssignment))).all()
    stations = [u.id for u in units if u.kind == UnitKind.POLICE_STATION]
    branches = [u.id for u in units if u.kind == UnitKind.WR_BRANCH]
    officers = {u.unit_id: u.id for u, role in members if role == Role.POLICE_OFFICER}
    any_officer = next(iter(officers.values()))
    volunteers: dict[uuid.UUID, list[uuid.UUID]] = {}
    for user, role in members:
        if role in (Role.WR_VOLUNTEER, Role.WR_BRANCH_LEAD):
            volunteers.setdefault(user.unit_id, []).append(user.id)
    handlers = [u.id for u, role in members if role in (Role.COMPLAINTS_HANDLER, Role.COMPLAINTS_LEAD)]
    span = dt.timedelta(days=365 * YEARS)

    counters: Counter[int] = Counter()
    for start in range(0, referrals, BATCH):
        key_rows: list[dict[str, object]] = []
        rows: list[dict[str, object]] = []
        for _ in range(min(BATCH, referrals - start)):
            submitted = now - span * rng.random() ** 2  # more recent cases than old ones
            year = submitted.astimezone(LOCAL_TIMEZONE).year
            counters[year] += 1
            status = _pick(rng, _REFERRAL_STATES)
            station = rng.choice(stations)
            branch = None if rng.random() < 0.08 else rng.choice(branches)
            declined_by = None
            if status is ReferralStatus.DECLINED_BY_BRANCH:
                # Declined cases wait for the state office to route them again.
                declined_by, branch = branch or rng.choice(branches), None
            elif branch is None:
                status = ReferralStatus.SUBMITTED
            accepted = status is not ReferralStatus.SUBMITTED and branch is not None
            referral = Referral(
                reference=f"VM-{year}-{counters[year]:06d}",
                status=status,
                referring_station_id=station,
                referring_officer_id=officers.get(station, any_officer),
                branch_id=branch,
                declined_by_branch_id=declined_by,
                decline_reason=DeclineReason.NO_CAPACITY if declined_by else None,
                assignee_id=rng.choice(volunteers[branch]) if accepted and branch in volunteers else None,
                offence_category=rng.choice(SELECTABLE_OFFENCES),
                incident_month=submitted.strftime("%Y-%m"),
                urgency=Urgency.HIGH if rng.random() < 0.1 else Urgency.NORMAL,
                language="de" if rng.random() < 0.85 else rng.choice(["en", "ar", "uk", "tr"]),
                consent_given_by="victim",
                consent_given_at=submitted,
                consent_form="written",
                consent_scope="contact_and_data",
                consent_recorded_by_id=officers.get(station, any_officer),
                submitted_at=submitted,
                updated_at=submitted,
            )
            key = _new_key(keys, "referral", key_rows)
            case_number = f"{rng.randint(100, 999)}/{year}/{rng.randint(100000, 999999)}"
            seal(
                referral,
                key,
                victim_name=f"Person {start}",
                postcode=f"0{rng.randint(1000, 9999)}",
                city=rng.choice(_CITIES),
                case_number=case_number,
            )
            referral.case_number_index = keys.blind_index.index_case_number(case_number)
            rows.append(referral.model_dump())
        await _write(engine, DataKeyRecord, key_rows)
        await _write(engine, Referral, rows)
    async with engine.begin() as connection:
        for year, last in counters.items():
            await connection.execute(insert(ReferralReferenceCounter).values(year=year, last_value=last))

    sequences: Counter[int] = Counter()
    for start in range(0, complaints, BATCH):
        key_rows, rows = [], []
        for _ in range(min(BATCH, complaints - start)):
            received = now - span * rng.random() ** 2
            local = received.astimezone(LOCAL_TIMEZONE)
            sequences[local.year] += 1
            state = _pick(rng, _COMPLAINT_STATES)
            open_ = state not in (
                ComplaintStatus.CLOSED,
                ComplaintStatus.FORWARDED,
                ComplaintStatus.WITHDRAWN,
            )
            complaint = Complaint(
                reference=f"BS-{local.year}-{sequences[local.year]:06d}",
                year=local.year,
                sequence=sequences[local.year],
                access_code_hash="bench",
                complaint_type=ComplaintType.COMPLAINT,
                complainant_kind=rng.choice(list(ComplainantKind)),
                channel=rng.choice(list(Channel)),
                category=rng.choice(list(Category)),
                status=state,
                police_unit_id=rng.choice(stations),
                assignee_id=None if state is ComplaintStatus.RECEIVED else rng.choice(handlers),
                received_at=received,
                received_on=local.date(),
                deadline_on=(local.date() + dt.timedelta(days=42)) if open_ else None,
                updated_at=received,
            )
            key = _new_key(keys, "complaint", key_rows)
            seal(complaint, key, name=f"Person {start}", description="Beschwerde (Benchmark)")
            rows.append(complaint.model_dump())
        await _write(engine, DataKeyRecord, key_rows)
        await _write(engine, Complaint, rows)

    # The audit trail: plain rows (events hold no personal data), the bulk of a few years' reads.
    actors = [str(u.id) for u, _ in members]
    async with engine.begin() as connection:
        await connection.execute(
            text(
                """
                INSERT INTO audit_events (occurred_at_us, action, outcome, actor_kind, actor_id, actor_roles,
                                          target_type, target_id, details)
                SELECT (extract(epoch from now()) * 1000000)::bigint - (:events - n)::bigint * 300000000,
                       (ARRAY['referral:referral:read', 'referral:referral:create',
                              'complaint:complaint:read', 'identity:access:denied',
                              'referral:referral:accept', 'complaint:complaint:assign'])[1 + n % 6],
                       CASE WHEN n % 97 = 0 THEN 'denied' ELSE 'success' END,
                       'user', (CAST(:actors AS text[]))[1 + n % :actor_count], '',
                       'referral', gen_random_uuid()::text, '{}'
                FROM generate_series(1, :events) AS n
                """
            ),
            {"events": audit_events, "actors": actors, "actor_count": len(actors)},
        )
    return Volume(referrals, complaints, audit_events)


def _new_key(keys: CaseKeys, case_kind: str, key_rows: list[dict[str, object]]) -> DataKey:
    key, record = keys.new_record(case_kind)
    key_rows.append(record.model_dump())
    return key


async def _write(engine: AsyncEngine, model: type[object], rows: list[dict[str, object]]) -> None:
    if rows:
        async with engine.begin() as connection:
            await connection.execute(insert(model), rows)  # type: ignore[call-overload]
