"""Who sees what of a referral, role by role and unit by unit."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from referral_service.identity.roles import Role
from tests.identity.support import AuthHeaders, DemoDirectory
from tests.referrals.support import VICTIM_NAME, submit

NO_REFERRAL_PERMISSION = [Role.COMPLAINTS_HANDLER, Role.COMPLAINTS_LEAD, Role.AUDITOR, Role.ADMIN]


@pytest.mark.parametrize("role", NO_REFERRAL_PERMISSION)
async def test_complaints_staff_auditors_and_administrators_cannot_read_referrals(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory, role: Role
) -> None:
    created = await submit(client, auth_headers)
    headers = await auth_headers(role)
    for path in (
        "/api/v1/referrals",
        f"/api/v1/referrals/{created['id']}",
        f"/api/v1/referrals/{created['id']}/feedback",
    ):
        response = await client.get(path, headers=headers)
        assert response.status_code == 403, (role, path)
        assert VICTIM_NAME not in response.text


@pytest.mark.parametrize("who", ["officer.leipzig", "volunteer.leipzig", "branchlead.leipzig"])
async def test_other_station_or_branch_gets_404_for_everything(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory, who: str
) -> None:
    created = await submit(client, auth_headers, postcode="01099")  # Dresden station -> Dresden branch
    headers = await auth_headers(who)
    assert created["id"] not in [
        item["id"] for item in (await client.get("/api/v1/referrals", headers=headers)).json()
    ]
    for method, path, body in (
        ("GET", "", None),
        ("GET", "/feedback", None),
        ("PATCH", "", {"urgency": "normal"}),
        ("POST", "/accept", None),
        ("POST", "/decline", {"reason": "no_capacity"}),
        ("POST", "/withdraw-consent", None),
    ):
        response = await client.request(
            method, f"/api/v1/referrals/{created['id']}{path}", json=body, headers=headers
        )
        assert response.status_code in {403, 404}, (who, method, path, response.status_code)
        if response.status_code == 404:
            assert response.json()["code"] == "referral.not_found"


async def test_police_content_access_ends_at_acceptance_and_supervisor_sees_the_station(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory
) -> None:
    created = await submit(client, auth_headers)
    supervisor = await auth_headers("supervisor.dresden")
    assert (await client.get(f"/api/v1/referrals/{created['id']}", headers=supervisor)).json()["victim"][
        "name"
    ] == VICTIM_NAME
    await client.post(
        f"/api/v1/referrals/{created['id']}/accept", headers=await auth_headers("volunteer.dresden")
    )
    for who in ("officer.dresden", "supervisor.dresden"):
        headers = await auth_headers(who)
        # The referral's address answers with the status feedback: no content any more.
        read = await client.get(f"/api/v1/referrals/{created['id']}", headers=headers)
        feedback = await client.get(f"/api/v1/referrals/{created['id']}/feedback", headers=headers)
        assert (read.status_code, feedback.status_code) == (200, 200)
        assert read.json() == feedback.json()
        assert VICTIM_NAME not in read.text


async def test_accepted_case_belongs_to_its_volunteer_and_the_lead(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory
) -> None:
    created = await submit(client, auth_headers)
    await client.post(
        f"/api/v1/referrals/{created['id']}/accept", headers=await auth_headers("volunteer.dresden")
    )
    lead = (
        await client.get(
            f"/api/v1/referrals/{created['id']}", headers=await auth_headers("branchlead.dresden")
        )
    ).json()
    assert lead["victim"]["name"] == VICTIM_NAME
    # The state office sees a routed, timely case nowhere.
    state = await auth_headers("stateoffice.sachsen")
    assert (await client.get(f"/api/v1/referrals/{created['id']}", headers=state)).status_code == 404
    assert (await client.get("/api/v1/referrals", headers=state)).json() == []


async def test_police_cannot_accept_and_volunteers_cannot_refer(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory
) -> None:
    created = await submit(client, auth_headers)
    assert (
        await client.post(
            f"/api/v1/referrals/{created['id']}/accept", headers=await auth_headers("officer.dresden")
        )
    ).status_code == 403
    assert (
        await client.post("/api/v1/referrals", json={}, headers=await auth_headers("volunteer.dresden"))
    ).status_code == 403
    assert (await client.get("/api/v1/referrals")).status_code == 401
