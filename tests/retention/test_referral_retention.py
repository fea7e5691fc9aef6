"""Referral retention: a year after closure the personal data is gone for good, statistics
stay, each erasure is audited, and running again changes nothing; on both engines."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from crypto import KeyDestroyedError
from referral_service.audit.models import AuditEvent
from referral_service.domains import retention_providers
from referral_service.keys.service import CaseKeys
from referral_service.leadership import lock_key
from referral_service.notifications.models import Notification
from referral_service.referrals.models import Referral
from referral_service.referrals.retention import ReferralRetention
from referral_service.retention.providers import CaseNotFoundError, CaseStillOpenError
from referral_service.retention.runner import RETENTION_JOB, erase_on_request, run_retention
from referral_service.settings import Settings
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock
from tests.plaintext_scan import assert_nowhere_stored
from tests.referrals.support import referral_payload

Client = AsyncTestClient[Litestar]
YEAR = dt.timedelta(days=365)
DAY = dt.timedelta(days=1)

# The victim whose case is erased: values found nowhere afterwards.
ERASED = {
    "name": "Erasmus Tilgner-Vogt",
    "phone": "+49 351 5559911",
    "email": "erasmus.tilgner@example.org",
    "street_address": "Löschweg 17",
    "circumstances": "Überfall am Bahnhof Neustadt durch zwei Unbekannte",
    "case_number": "DD-9911/26-X",
}


VICTIM_FIELDS = ("name", "phone", "email", "street_address")


def payload(clock: FakeClock, victim: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    now = clock.now()
    body = referral_payload(
        consent_at=now - dt.timedelta(minutes=10),
        incident_date=(now - dt.timedelta(days=1)).date().isoformat(),
    )
    body["victim"].update({k: v for k, v in (victim or {}).items() if k in VICTIM_FIELDS})
    body.update(fields)
    return body


async def refer(client: Client, auth_headers: AuthHeaders, body: dict[str, Any]) -> str:
    response = await client.post(
        "/api/v1/referrals", json=body, headers=await auth_headers("officer.dresden")
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def close_supported(client: Client, auth_headers: AuthHeaders, referral_id: str) -> None:
    volunteer = await auth_headers("volunteer.dresden")
    base = f"/api/v1/referrals/{referral_id}"
    assert (await client.post(f"{base}/accept", headers=volunteer)).status_code == 200
    contact = await client.post(f"{base}/first-contact", json={"channel": "phone"}, headers=volunteer)
    assert contact.status_code == 200, contact.text
    closed = await client.post(
        f"{base}/close",
        json={"outcome": "supported", "support_given": ["personal_support", "legal_advice_voucher"]},
        headers=volunteer,
    )
    assert closed.status_code == 200, closed.text


async def referral_row(engine: AsyncEngine, referral_id: str) -> Referral:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        row = await session.get(Referral, uuid.UUID(referral_id))
        assert row is not None
        return row


async def table_snapshot(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as connection:
        referrals = (await connection.execute(text("SELECT * FROM referrals ORDER BY id"))).all()
        keys = (await connection.execute(text("SELECT * FROM data_keys ORDER BY id"))).all()
        events = (await connection.execute(text("SELECT count(*) FROM audit_events"))).scalar_one()
    return [list(referrals), list(keys), events]


async def erase_events(engine: AsyncEngine) -> list[AuditEvent]:
    async with AsyncSession(engine) as session:
        stmt = (
            select(AuditEvent).where(AuditEvent.action == "retention:referral:erase").order_by(AuditEvent.id)
        )  # type: ignore[arg-type]
        return list((await session.execute(stmt)).scalars().all())


async def test_a_closed_referral_loses_its_personal_data_a_year_later_and_keeps_its_statistics(
    client: Client,
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    engine: AsyncEngine,
    app: Litestar,
    settings: Settings,
    clock: FakeClock,
) -> None:
    keys: CaseKeys = app.state.case_keys
    start = clock.now()
    old = await refer(
        client,
        auth_headers,
        payload(clock, ERASED, circumstances=ERASED["circumstances"], case_number=ERASED["case_number"]),
    )
    # Same phone while the first is open: the repeat-victim hint links the two.
    repeat = await refer(client, auth_headers, payload(clock, {"phone": ERASED["phone"], "email": None}))
    await close_supported(client, auth_headers, old)
    assert (await referral_row(engine, repeat)).repeat_of_id == uuid.UUID(old)
    # Closed 300 days later: not yet due when the first one is.
    clock.advance(days=300)
    recent = await refer(client, auth_headers, payload(clock))
    await close_supported(client, auth_headers, recent)
    still_open = await refer(client, auth_headers, payload(clock))

    providers = retention_providers(settings)
    before = await referral_row(engine, old)
    run = await run_retention(engine, keys, providers, now=start + YEAR + DAY)
    assert run.erased == {"referral": 1, "complaint": 0}
    assert not run.skipped

    erased = await referral_row(engine, old)
    # Statistics stay exactly as they were.
    for column in (
        "status",
        "offence_category",
        "incident_month",
        "submitted_at",
        "accepted_at",
        "first_contact_at",
        "closed_at",
        "close_outcome",
        "support_given",
        "referring_station_id",
        "branch_id",
        "urgency",
    ):
        assert getattr(erased, column) == getattr(before, column), column
    assert erased.status == "closed"
    assert erased.support_given == "legal_advice_voucher,personal_support"
    # Every ciphertext and blind index is gone, and the key with it: nothing can be decrypted again.
    for column in ("victim_name", "phone", "email", "circumstances", "case_number"):
        assert getattr(erased, column) is None, column
    for column in ("phone_index", "email_index", "case_number_index"):
        assert getattr(erased, column) is None, column
    assert erased.data_key_id == before.data_key_id
    async with AsyncSession(engine) as session:
        with pytest.raises(KeyDestroyedError):
            await keys.get(session, before.data_key_id)  # type: ignore[arg-type]
    # The repeat-victim links to and from the case go with it.
    assert (await referral_row(engine, repeat)).repeat_of_id is None
    await assert_nowhere_stored(engine, *ERASED.values(), "5559911")

    # The WEISSER RING side still sees that the case existed and ended; nothing of its content.
    shown = await client.get(f"/api/v1/referrals/{old}", headers=await auth_headers("volunteer.dresden"))
    assert shown.status_code == 200
    assert shown.json()["victim"].get("name") is None
    assert shown.json()["circumstances"] is None

    # Not due yet, and open: untouched, still readable.
    for untouched in (recent, still_open):
        row = await referral_row(engine, untouched)
        assert row.victim_name is not None
        assert row.phone_index is not None
        async with AsyncSession(engine) as session:
            await keys.get(session, row.data_key_id)  # type: ignore[arg-type]
    readable = await client.get(
        f"/api/v1/referrals/{recent}", headers=await auth_headers("volunteer.dresden")
    )
    assert readable.json()["victim"]["name"] == referral_payload()["victim"]["name"]

    events = await erase_events(engine)
    assert [(e.target_type, e.target_id, e.actor_kind) for e in events] == [("referral", old, "system")]
    details = json.loads(events[0].details)
    assert details["reason"] == "retention_period"
    assert details["period_days"] == 365
    assert details["key_destroyed"] is True
    assert "referrals.victim_name" in details["fields"]
    assert "referrals.phone_index" in details["fields"]
    assert details["unlinked"] == ["repeat_links"]

    # A second run, even much later for the first case, changes nothing at all.
    snapshot = await table_snapshot(engine)
    again = await run_retention(engine, keys, providers, now=start + YEAR + DAY)
    assert again.erased == {"referral": 0, "complaint": 0}
    assert await table_snapshot(engine) == snapshot


async def test_withdrawn_referrals_are_erased_already_and_not_again(
    client: Client,
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    engine: AsyncEngine,
    app: Litestar,
    settings: Settings,
    clock: FakeClock,
) -> None:
    withdrawn = await refer(client, auth_headers, payload(clock))
    response = await client.post(
        f"/api/v1/referrals/{withdrawn}/withdraw-consent", headers=await auth_headers("officer.dresden")
    )
    assert response.status_code == 200
    provider = ReferralRetention(YEAR)
    async with AsyncSession(engine) as session:
        assert await provider.count_due(session, clock.now() + 2 * YEAR) == 0
    run = await run_retention(engine, app.state.case_keys, [provider], now=clock.now() + 2 * YEAR)
    assert run.erased == {"referral": 0}
    assert await erase_events(engine) == []


async def notifications_about(engine: AsyncEngine, case_id: str) -> int:
    async with engine.connect() as connection:
        found = await connection.execute(
            select(func.count())
            .select_from(Notification)
            .where(col(Notification.subject_id) == uuid.UUID(case_id))
        )
        return int(found.scalar_one())


async def test_an_erasure_request_is_handled_at_once_for_a_finished_case(
    client: Client,
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    engine: AsyncEngine,
    app: Litestar,
    clock: FakeClock,
) -> None:
    keys: CaseKeys = app.state.case_keys
    provider = ReferralRetention(YEAR)
    closed = await refer(client, auth_headers, payload(clock, ERASED))
    await close_supported(client, auth_headers, closed)
    still_open = await refer(client, auth_headers, payload(clock))
    # Both arrived in a branch's inbox, so its people were notified.
    assert await notifications_about(engine, closed) > 0
    assert await notifications_about(engine, still_open) > 0

    erasure = await erase_on_request(engine, keys, provider, uuid.UUID(closed))
    assert erasure is not None
    assert erasure.key_destroyed
    # The erased case's notifications went with it; the open case's stay.
    assert await notifications_about(engine, closed) == 0
    assert await notifications_about(engine, still_open) > 0
    assert (await referral_row(engine, closed)).victim_name is None
    await assert_nowhere_stored(engine, *ERASED.values())

    with pytest.raises(CaseStillOpenError):
        await erase_on_request(engine, keys, provider, uuid.UUID(still_open))
    with pytest.raises(CaseNotFoundError):
        await erase_on_request(engine, keys, provider, uuid.uuid4())
    # Asked again: nothing left, but the request is on record.
    assert await erase_on_request(engine, keys, provider, uuid.UUID(closed)) is None
    events = await erase_events(engine)
    assert [json.loads(e.details)["reason"] for e in events] == ["erasure_request", "erasure_request"]
    assert json.loads(events[1].details)["key_destroyed"] is False
    assert json.loads(events[0].details)["notifications_removed"] > 0
    assert (await referral_row(engine, still_open)).victim_name is not None


async def test_two_instances_running_at_once_erase_each_case_once(
    client: Client,
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    engine: AsyncEngine,
    app: Litestar,
    settings: Settings,
    clock: FakeClock,
) -> None:
    ids = []
    for _ in range(5):
        ids.append(await refer(client, auth_headers, payload(clock)))
        await close_supported(client, auth_headers, ids[-1])
    providers = retention_providers(settings)
    later = clock.now() + YEAR + DAY
    runs = await asyncio.gather(
        *(run_retention(engine, app.state.case_keys, providers, now=later, batch_size=2) for _ in range(3))
    )
    assert sum(run.erased.get("referral", 0) for run in runs) == 5
    assert sorted(e.target_id for e in await erase_events(engine)) == sorted(ids)


async def test_leadership_is_an_advisory_lock_on_postgresql(
    engine: AsyncEngine, app: Litestar, settings: Settings
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers with its database lock instead (previous test)")
    async with engine.connect() as holder:
        await holder.begin()
        await holder.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(RETENTION_JOB)})
        run = await run_retention(
            engine, app.state.case_keys, retention_providers(settings), now=dt.datetime.now(dt.UTC)
        )
        await holder.rollback()
    assert run.skipped
