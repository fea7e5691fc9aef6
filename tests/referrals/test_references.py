"""Referral references ("VM-2026-000123"): unique and gapless under concurrent creation, a rolled-back
creation gives its number back, and the migration numbers the referrals that existed before."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import msgspec
import sqlalchemy as sa
from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service import references, schema
from referral_service.db import create_database_engine, create_session_factory
from referral_service.identity.permissions import ROLE_GRANTS
from referral_service.identity.principal import AuthMethod, Principal
from referral_service.identity.roles import Role, UnitKind
from referral_service.keys.service import CaseKeys, load_key_provider
from referral_service.referrals.models import Referral, ReferralReferenceCounter
from referral_service.referrals.policy import ReferralPolicy
from referral_service.referrals.schemas import ReferralCreate
from referral_service.referrals.service import intake
from referral_service.referrals.service.common import ReferralContext
from referral_service.settings import Settings
from tests.concurrency import overlapping_client
from tests.identity.support import AuthHeaders, DemoDirectory
from tests.referrals.support import referral_payload

CONCURRENT = 20
UTC = dt.UTC


def _officer(directory: DemoDirectory) -> Principal:
    officer = directory.account("officer.dresden")
    return Principal(
        user_id=officer.user_id,
        username=officer.username,
        unit_id=officer.unit.id,
        unit_path=officer.unit.path,
        unit_kind=UnitKind.POLICE_STATION,
        roles=frozenset({Role.POLICE_OFFICER}),
        permissions=ROLE_GRANTS[Role.POLICE_OFFICER],
        auth_method=AuthMethod.TOKEN,
    )


async def _counters(engine: AsyncEngine) -> list[tuple[int, int]]:
    async with create_session_factory(engine)() as session:
        rows = (await session.execute(select(ReferralReferenceCounter))).scalars().all()
    return sorted((row.year, row.last_value) for row in rows)


async def test_concurrent_creations_get_unique_gapless_references_and_a_rollback_returns_its_number(
    engine: AsyncEngine, settings: Settings, referral_policy: ReferralPolicy, routed: DemoDirectory
) -> None:
    keys = CaseKeys(lambda: load_key_provider(settings))
    factory = create_session_factory(engine)
    data = msgspec.convert(referral_payload(), ReferralCreate)
    principal = _officer(routed)
    year = referral_policy.today().year

    def context(session: AsyncSession) -> ReferralContext:
        return ReferralContext(session, principal, keys, referral_policy, {})

    # A creation that fails after taking its number gives it back.
    async with factory() as session:
        abandoned = await intake.create_referral(context(session), data)
        await session.rollback()
    assert abandoned.reference == f"VM-{year}-000001"

    async def one() -> str:
        async with factory() as session:
            created = await intake.create_referral(context(session), data)
            await session.commit()
            return created.reference

    got = await asyncio.gather(*(one() for _ in range(CONCURRENT)))
    assert sorted(got) == [f"VM-{year}-{n:06d}" for n in range(1, CONCURRENT + 1)]
    assert await _counters(engine) == [(year, CONCURRENT)]


async def test_concurrent_creations_over_http_get_unique_references(
    app: Litestar, auth_headers: AuthHeaders, referral_policy: ReferralPolicy, routed: DemoDirectory
) -> None:
    headers = await auth_headers("officer.dresden")
    async with overlapping_client(app) as client:
        responses = await asyncio.gather(
            *(
                client.post("/api/v1/referrals", json=referral_payload(), headers=headers)
                for _ in range(CONCURRENT)
            )
        )
        assert [response.status_code for response in responses] == [201] * CONCURRENT
        got = sorted(response.json()["reference"] for response in responses)
        year = referral_policy.today().year
        assert got == [f"VM-{year}-{n:06d}" for n in range(1, CONCURRENT + 1)]
        # The reference is part of what the caller reads back, in the list and in the feedback.
        listed = (await client.get("/api/v1/referrals", headers=headers)).json()
        assert sorted(row["reference"] for row in listed) == got
        first = responses[0].json()
        feedback = (await client.get(f"/api/v1/referrals/{first['id']}/feedback", headers=headers)).json()
        assert feedback["reference"] == first["reference"]


def test_reference_format_and_typed_forms() -> None:
    assert references.format_reference("VM", 2026, 123) == "VM-2026-000123"
    assert references.normalise("VM", " vm-2026-123 ") == "VM-2026-000123"
    assert references.normalise("VM", "BS-2026-000123") is None
    assert references.normalise("VM", "VM-26-000123") is None


# Rows as they stand at revision 0007, written with plain SQL (the models already have the new column).
_units = sa.table(
    "org_units",
    *(sa.column(name, sa.String()) for name in ("code", "name", "kind", "path")),
    sa.column("id", sa.Uuid()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
_users = sa.table(
    "users",
    *(sa.column(name, sa.String()) for name in ("username", "display_name", "password_hash")),
    sa.column("id", sa.Uuid()),
    sa.column("unit_id", sa.Uuid()),
    sa.column("active", sa.Boolean()),
    *(
        sa.column(name, sa.DateTime(timezone=True))
        for name in ("password_changed_at", "created_at", "updated_at")
    ),
)
_referrals = sa.table(
    "referrals",
    *(
        sa.column(name, sa.String())
        for name in (
            "status",
            "offence_category",
            "incident_month",
            "requested_support",
            "urgency",
            "language",
            "consent_given_by",
            "consent_form",
            "consent_scope",
            "support_given",
        )
    ),
    *(
        sa.column(name, sa.Uuid())
        for name in ("id", "referring_station_id", "referring_officer_id", "consent_recorded_by_id")
    ),
    *(sa.column(name, sa.Boolean()) for name in ("hate_crime", "interpreter_needed")),
    sa.column("escalation_level", sa.Integer()),
    *(
        sa.column(name, sa.DateTime(timezone=True))
        for name in ("consent_given_at", "submitted_at", "updated_at")
    ),
)
_transitions = sa.table(
    "referral_transitions",
    *(sa.column(name, sa.String()) for name in ("action", "from_status", "to_status")),
    sa.column("id", sa.Uuid()),
    sa.column("referral_id", sa.Uuid()),
    sa.column("at", sa.DateTime(timezone=True)),
)


async def _seed_at_0007(engine: AsyncEngine, submitted: dict[str, dt.datetime]) -> dict[str, uuid.UUID]:
    now = dt.datetime(2026, 12, 1, tzinfo=UTC)
    unit, officer = uuid.uuid4(), uuid.uuid4()
    ids = {name: uuid.uuid4() for name in submitted}
    async with engine.begin() as connection:
        await connection.execute(
            sa.insert(_units).values(
                id=unit,
                code="pd-test",
                name="Revier",
                kind="police_station",
                path="/pd-test",
                created_at=now,
                updated_at=now,
            )
        )
        await connection.execute(
            sa.insert(_users).values(
                id=officer,
                unit_id=unit,
                username="officer",
                display_name="Officer",
                password_hash="-",
                active=True,
                password_changed_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        for name, at in submitted.items():
            await connection.execute(
                sa.insert(_referrals).values(
                    id=ids[name],
                    status="submitted",
                    referring_station_id=unit,
                    referring_officer_id=officer,
                    consent_recorded_by_id=officer,
                    offence_category="bodily_harm",
                    incident_month=at.strftime("%Y-%m"),
                    requested_support="",
                    urgency="normal",
                    language="de",
                    consent_given_by="victim",
                    consent_form="written",
                    consent_scope="transfer_to_wr_for_contact_and_support",
                    support_given="",
                    hate_crime=False,
                    interpreter_needed=False,
                    escalation_level=0,
                    consent_given_at=at,
                    submitted_at=at,
                    updated_at=at,
                )
            )
            # Rows that refer to a referral: SQLite recreates the table under them during the upgrade.
            await connection.execute(
                sa.insert(_transitions).values(
                    id=uuid.uuid4(),
                    referral_id=ids[name],
                    action="submit",
                    from_status="",
                    to_status="submitted",
                    at=at,
                )
            )
    return ids


async def test_the_migration_numbers_existing_referrals_per_year_in_submission_order(
    empty_database_url: str,
) -> None:
    engine = create_database_engine(empty_database_url)
    try:
        await schema.upgrade(engine, "0007")
        ids = await _seed_at_0007(
            engine,
            {
                "march": dt.datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
                "february": dt.datetime(2026, 2, 1, 9, 0, tzinfo=UTC),
                # New Year's Eve in UTC, already 2026 in Germany.
                "new_year": dt.datetime(2025, 12, 31, 23, 30, tzinfo=UTC),
                "last_year": dt.datetime(2025, 6, 1, 9, 0, tzinfo=UTC),
            },
        )
        await schema.upgrade(engine)
        async with create_session_factory(engine)() as session:
            rows = (await session.execute(select(Referral.id, Referral.reference))).all()
        assert dict(rows) == {
            ids["last_year"]: "VM-2025-000001",
            ids["new_year"]: "VM-2026-000001",
            ids["february"]: "VM-2026-000002",
            ids["march"]: "VM-2026-000003",
        }
        assert await _counters(engine) == [(2025, 1), (2026, 3)]
        # The next referral continues the year's sequence.
        async with create_session_factory(engine)() as session:
            assert await references.allocate_next(session, ReferralReferenceCounter, 2026) == 4
        # Down again keeps the referrals (without their references), and up numbers them anew.
        await schema.downgrade(engine, "0007")
        async with engine.connect() as connection:
            count = (
                await connection.execute(sa.select(sa.func.count()).select_from(_referrals))
            ).scalar_one()
        assert count == len(ids)
        await schema.upgrade(engine)
        assert await _counters(engine) == [(2025, 1), (2026, 3)]
    finally:
        await engine.dispose()
