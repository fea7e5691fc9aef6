"""Consent withdrawal destroys the personal data for everyone; deadlines escalate."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.referrals.deadlines import escalate_overdue
from referral_service.referrals.policy import ReferralPolicy
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock
from tests.plaintext_scan import assert_nowhere_stored
from tests.referrals.support import SECRET_VALUES, submit


async def test_withdrawal_makes_content_unreadable_for_every_role_and_keeps_statistics(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory, engine: AsyncEngine
) -> None:
    created = await submit(client, auth_headers)
    rid = created["id"]
    await client.post(f"/api/v1/referrals/{rid}/accept", headers=await auth_headers("volunteer.dresden"))
    withdrawn = await client.post(
        f"/api/v1/referrals/{rid}/withdraw-consent", headers=await auth_headers("officer.dresden")
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"

    for who in ("volunteer.dresden", "branchlead.dresden"):
        detail = await client.get(f"/api/v1/referrals/{rid}", headers=await auth_headers(who))
        assert detail.status_code == 200
        body = detail.json()
        assert body["status"] == "withdrawn"
        assert body["circumstances"] is None
        assert body["victim"].get("name") is None
    # The station learns that consent was withdrawn, from the status feedback only.
    station = await client.get(f"/api/v1/referrals/{rid}", headers=await auth_headers("officer.dresden"))
    assert station.status_code == 200
    assert station.json()["status"] == "withdrawn"
    assert "victim" not in station.json()
    again = await client.post(
        f"/api/v1/referrals/{rid}/withdraw-consent", headers=await auth_headers("officer.dresden")
    )
    assert again.status_code == 409

    await assert_nowhere_stored(engine, *SECRET_VALUES)
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT r.offence_category, r.incident_month, r.victim_name, r.circumstances, "
                    "r.phone_index, k.wrapped, k.destroyed_at "
                    "FROM referrals r JOIN data_keys k ON k.id = r.data_key_id"
                )
            )
        ).one()
        assert row[0] == "bodily_harm"
        assert row[1] == created["incident_date"]  # the month: lists and summaries never show the day
        assert row[2:6] == (None, None, None, None)
        assert row[6] is not None
        actions = (
            (
                await connection.execute(
                    text("SELECT action FROM audit_events WHERE target_id = :id"), {"id": rid}
                )
            )
            .scalars()
            .all()
        )
    assert "referral:referral:withdraw_consent" in actions


async def test_wr_can_record_withdrawal_too(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory
) -> None:
    created = await submit(client, auth_headers)
    volunteer = await auth_headers("volunteer.dresden")
    await client.post(f"/api/v1/referrals/{created['id']}/accept", headers=volunteer)
    response = await client.post(f"/api/v1/referrals/{created['id']}/withdraw-consent", headers=volunteer)
    assert response.json()["status"] == "withdrawn"


async def test_unaccepted_after_24h_escalates_to_the_lead_and_no_contact_after_72h_to_the_state_office(
    client: AsyncTestClient[Litestar],
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    engine: AsyncEngine,
    referral_clock: FakeClock,
    referral_policy: ReferralPolicy,
) -> None:
    created = await submit(client, auth_headers)
    rid = created["id"]
    lead, state = await auth_headers("branchlead.dresden"), await auth_headers("stateoffice.sachsen")

    referral_clock.advance(hours=23)
    assert await escalate_overdue(engine, referral_policy) == 0
    assert (await client.get("/api/v1/referrals", headers=lead)).json()[0]["deadlines"][
        "accept_overdue"
    ] is False

    referral_clock.advance(hours=2)  # 25 h
    assert await escalate_overdue(engine, referral_policy) == 1
    item = (await client.get("/api/v1/referrals", headers=lead)).json()[0]
    assert item["deadlines"]["accept_overdue"] is True
    assert item["deadlines"]["escalation_level"] == 1
    assert (await client.get("/api/v1/referrals", headers=state)).json() == []
    assert await escalate_overdue(engine, referral_policy) == 0  # idempotent

    await client.post(f"/api/v1/referrals/{rid}/accept", headers=await auth_headers("volunteer.dresden"))
    referral_clock.advance(hours=48)  # 73 h, still no first contact
    assert await escalate_overdue(engine, referral_policy) == 1
    escalated = (await client.get("/api/v1/referrals", headers=state)).json()
    assert [entry["id"] for entry in escalated] == [rid]
    assert escalated[0]["deadlines"]["first_contact_overdue"] is True
    assert escalated[0]["deadlines"]["escalation_level"] == 2
    feedback = (
        await client.get(f"/api/v1/referrals/{rid}/feedback", headers=await auth_headers("officer.dresden"))
    ).json()
    assert feedback["contacted_within_deadline"] is False
    async with engine.connect() as connection:
        escalations = (
            (
                await connection.execute(
                    text(
                        "SELECT details FROM audit_events "
                        "WHERE action = 'referral:referral:escalate' ORDER BY id"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert escalations == [
        '{"level":1,"reason":"not_accepted_in_time"}',
        '{"level":2,"reason":"no_first_contact_in_time"}',
    ]


async def test_contact_in_time_does_not_escalate(
    client: AsyncTestClient[Litestar],
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    engine: AsyncEngine,
    referral_clock: FakeClock,
    referral_policy: ReferralPolicy,
) -> None:
    created = await submit(client, auth_headers)
    volunteer = await auth_headers("volunteer.dresden")
    await client.post(f"/api/v1/referrals/{created['id']}/accept", headers=volunteer)
    referral_clock.advance(hours=30)
    await client.post(
        f"/api/v1/referrals/{created['id']}/first-contact", json={"channel": "phone"}, headers=volunteer
    )
    referral_clock.advance(hours=100)
    assert await escalate_overdue(engine, referral_policy) == 0
