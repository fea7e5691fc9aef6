"""The referral workflow end to end through the API, on both engines."""

from __future__ import annotations

import json

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.identity.support import AuthHeaders, DemoDirectory
from tests.plaintext_scan import assert_nowhere_stored
from tests.referrals.support import (
    CIRCUMSTANCES,
    SECRET_VALUES,
    VICTIM_NAME,
    VICTIM_PHONE,
    submit,
)


async def test_officer_refers_branch_accepts_contacts_and_closes_station_sees_feedback_only(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory, engine: AsyncEngine
) -> None:
    officer, volunteer = await auth_headers("officer.dresden"), await auth_headers("volunteer.dresden")

    created = await submit(client, auth_headers, postcode="01099")
    referral_id = created["id"]
    assert created["status"] == "submitted"
    assert created["branch_id"] == str(routed.unit("wr-dresden").id)

    # Before acceptance the officer can still read (and correct) what was entered.
    own = await client.get(f"/api/v1/referrals/{referral_id}", headers=officer)
    assert own.status_code == 200
    assert own.json()["victim"]["name"] == VICTIM_NAME

    # The branch inbox shows the case, without the victim's contact data.
    inbox = await client.get("/api/v1/referrals", params={"status": "submitted"}, headers=volunteer)
    assert [item["id"] for item in inbox.json()] == [referral_id]
    preview = (await client.get(f"/api/v1/referrals/{referral_id}", headers=volunteer)).json()
    assert preview["contact_data_withheld"] is True
    assert preview["victim"].get("name") is None
    assert preview["victim"].get("phone") is None
    assert preview["circumstances"] == CIRCUMSTANCES

    accepted = await client.post(f"/api/v1/referrals/{referral_id}/accept", headers=volunteer)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    full = (await client.get(f"/api/v1/referrals/{referral_id}", headers=volunteer)).json()
    assert full["victim"]["name"] == VICTIM_NAME
    assert full["victim"]["phone"] == VICTIM_PHONE

    attempt = await client.post(
        f"/api/v1/referrals/{referral_id}/contact-attempts", json={"channel": "phone"}, headers=volunteer
    )
    assert attempt.json()["status"] == "contact_attempted"
    contact = await client.post(
        f"/api/v1/referrals/{referral_id}/first-contact", json={"channel": "phone"}, headers=volunteer
    )
    assert contact.json()["status"] == "in_contact"
    closed = await client.post(
        f"/api/v1/referrals/{referral_id}/close",
        json={"outcome": "supported", "support_given": ["personal_support", "legal_advice_voucher"]},
        headers=volunteer,
    )
    assert closed.json()["status"] == "closed"

    # The station: content gone since acceptance, status feedback remains.
    feedback = await client.get(f"/api/v1/referrals/{referral_id}/feedback", headers=officer)
    assert (await client.get(f"/api/v1/referrals/{referral_id}", headers=officer)).json() == feedback.json()
    assert feedback.status_code == 200
    body = feedback.json()
    assert body["status"] == "closed"
    assert body["close_outcome"] == "supported"
    assert body["support_given"] == ["legal_advice_voucher", "personal_support"]
    assert body["contacted_within_deadline"] is True
    assert body["contact_deadline_hours"] == 72
    assert body["accepted_at"]
    assert body["first_contact_at"]
    assert body["closed_at"]
    for value in SECRET_VALUES:
        assert value not in feedback.text
    station_list = (await client.get("/api/v1/referrals", headers=officer)).json()
    assert [item["status"] for item in station_list] == ["closed"]
    assert VICTIM_NAME not in json.dumps(station_list)

    # Nothing personal is stored in plaintext anywhere, audit log included.
    await assert_nowhere_stored(engine, *SECRET_VALUES)
    async with engine.connect() as connection:
        actions = (
            (
                await connection.execute(
                    text("SELECT action FROM audit_events WHERE target_id = :id ORDER BY id"),
                    {"id": referral_id},
                )
            )
            .scalars()
            .all()
        )
    assert actions[0] == "referral:referral:create"
    for action in ("accept", "record_contact_attempt", "record_first_contact", "close", "read"):
        assert f"referral:referral:{action}" in actions


async def test_unmatched_postcode_goes_to_the_state_office_which_routes_and_a_branch_declines(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory
) -> None:
    state_office, lead = await auth_headers("stateoffice.sachsen"), await auth_headers("branchlead.leipzig")
    created = await submit(client, auth_headers, postcode="99999")
    assert created["branch_id"] is None
    queue = (await client.get("/api/v1/referrals", headers=state_office)).json()
    assert [item["id"] for item in queue] == [created["id"]]
    leipzig = str(routed.unit("wr-leipzig").id)
    routed_response = await client.post(
        f"/api/v1/referrals/{created['id']}/route", json={"branch_id": leipzig}, headers=state_office
    )
    assert routed_response.json()["branch_id"] == leipzig
    declined = await client.post(
        f"/api/v1/referrals/{created['id']}/decline", json={"reason": "no_capacity"}, headers=lead
    )
    assert declined.json()["status"] == "declined_by_branch"
    assert declined.json()["branch_id"] is None
    assert [item["id"] for item in (await client.get("/api/v1/referrals", headers=state_office)).json()] == [
        created["id"]
    ]
    not_a_branch = await client.post(
        f"/api/v1/referrals/{created['id']}/route",
        json={"branch_id": str(routed.unit("rev-dresden-nord").id)},
        headers=state_office,
    )
    assert not_a_branch.status_code == 422
    assert not_a_branch.json()["code"] == "referral.unknown_branch"


async def test_branch_lead_assigns_within_the_branch_only(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory
) -> None:
    lead = await auth_headers("branchlead.dresden")
    created = await submit(client, auth_headers)
    other_branch = await client.post(
        f"/api/v1/referrals/{created['id']}/assign",
        json={"assignee_id": str(routed.account("volunteer.leipzig").user_id)},
        headers=lead,
    )
    assert other_branch.status_code == 422
    assert other_branch.json()["code"] == "referral.invalid_assignee"
    assigned = await client.post(
        f"/api/v1/referrals/{created['id']}/assign",
        json={"assignee_id": str(routed.account("volunteer.dresden").user_id)},
        headers=lead,
    )
    assert assigned.json()["status"] == "accepted"
    assert assigned.json()["assignee_id"] == str(routed.account("volunteer.dresden").user_id)


async def test_repeat_victim_hint_is_shown_to_the_receiving_branch_only(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory
) -> None:
    first = await submit(client, auth_headers, phone="0351 5550123", email=None)
    second = await submit(client, auth_headers, phone="+49 (351) 555-0123", email=None)
    third = await submit(client, auth_headers, phone="0351 9990000", email=None)
    lead = await auth_headers("branchlead.dresden")
    assert (await client.get(f"/api/v1/referrals/{second['id']}", headers=lead)).json()[
        "repeat_of_id"
    ] == first["id"]
    assert (await client.get(f"/api/v1/referrals/{third['id']}", headers=lead)).json()["repeat_of_id"] is None
    officer = await auth_headers("officer.dresden")
    assert (await client.get(f"/api/v1/referrals/{second['id']}", headers=officer)).json()[
        "repeat_of_id"
    ] is None
