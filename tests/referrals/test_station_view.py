"""The referring station after acceptance: the referral's own address answers its status feedback, and
first contact is judged against the one configured contact deadline (feedback and report alike)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.identity.config import IdentityConfig
from referral_service.identity.roles import Role
from referral_service.referrals.policy import ReferralPolicy
from referral_service.settings import Settings
from tests.conftest import Applications, Kept
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock
from tests.referrals.support import SECRET_VALUES, submit
from tests.reporting.support import insert
from tests.reporting.test_cooperation_report import second_quarter_2025

Client = AsyncTestClient[Litestar]
# Shorter than the default 72 h, so that a first contact after 60 h is late.
DEADLINE_HOURS = 48


@pytest.fixture
def referral_policy(referral_clock: FakeClock, kept: Kept) -> ReferralPolicy:
    return kept.get(
        "referral_policy_48h",
        lambda: ReferralPolicy(contact_within=dt.timedelta(hours=DEADLINE_HOURS), clock=referral_clock.now),
    )


@pytest.fixture
async def app(
    settings: Settings,
    identity_config: IdentityConfig,
    referral_policy: ReferralPolicy,
    applications: Applications,
) -> AsyncIterator[Litestar]:
    built = applications.get(settings, identity_config, {"referrals": referral_policy})
    yield built
    await applications.release(built)


async def test_the_officer_reads_an_accepted_referral_as_its_status_feedback(
    client: Client, auth_headers: AuthHeaders, routed: DemoDirectory
) -> None:
    officer, volunteer = await auth_headers("officer.dresden"), await auth_headers("volunteer.dresden")
    rid = (await submit(client, auth_headers))["id"]
    assert (await client.post(f"/api/v1/referrals/{rid}/accept", headers=volunteer)).status_code == 200

    # The list still shows the case; its address answers too, with the status feedback and no content.
    assert [item["id"] for item in (await client.get("/api/v1/referrals", headers=officer)).json()] == [rid]
    read = await client.get(f"/api/v1/referrals/{rid}", headers=officer)
    assert read.status_code == 200, read.text
    feedback = await client.get(f"/api/v1/referrals/{rid}/feedback", headers=officer)
    assert read.json() == feedback.json()
    assert read.json()["status"] == "accepted"
    assert "victim" not in read.json()
    assert "circumstances" not in read.json()
    for value in SECRET_VALUES:
        assert value not in read.text

    # After a withdrawal of consent likewise: the station learns that, and nothing else.
    assert (
        await client.post(f"/api/v1/referrals/{rid}/withdraw-consent", headers=officer)
    ).status_code == 200
    withdrawn = await client.get(f"/api/v1/referrals/{rid}", headers=officer)
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    # Another station's officer still learns nothing of it.
    other = await client.get(f"/api/v1/referrals/{rid}", headers=await auth_headers("officer.leipzig"))
    assert other.status_code == 404


async def test_a_first_contact_after_the_configured_deadline_is_late_in_the_feedback(
    client: Client, auth_headers: AuthHeaders, routed: DemoDirectory, referral_clock: FakeClock
) -> None:
    officer, volunteer = await auth_headers("officer.dresden"), await auth_headers("volunteer.dresden")
    rid = (await submit(client, auth_headers))["id"]
    await client.post(f"/api/v1/referrals/{rid}/accept", headers=volunteer)
    referral_clock.advance(hours=60)
    contact = await client.post(
        f"/api/v1/referrals/{rid}/first-contact", json={"channel": "phone"}, headers=volunteer
    )
    assert contact.status_code == 200, contact.text

    feedback = (await client.get(f"/api/v1/referrals/{rid}/feedback", headers=officer)).json()
    assert feedback["contacted_within_deadline"] is False
    assert feedback["contact_deadline_hours"] == DEADLINE_HOURS


async def test_the_cooperation_report_counts_first_contact_within_the_configured_deadline(
    client: Client, auth_headers: AuthHeaders, engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    # First contacts after 10, 20, 30, 40, 48 (2), 50, 60, 72, 72 h + 1 µs and 80 h (5): six within 48 h.
    await insert(engine, second_quarter_2025(demo_directory))
    response = await client.get(
        "/api/v1/reports/cooperation",
        params={"year": 2025, "quarter": 2},
        headers=await auth_headers(Role.WR_STATE_OFFICE),
    )
    assert response.status_code == 200, response.text
    processing = next(t for t in response.json()["tables"] if t["key"] == "processing")
    row = next(r for r in processing["rows"] if r["key"] == "contacted_within_deadline")
    assert row["label"] == "Erstkontakt binnen 48 Stunden"
    assert row["values"] == {"count": 6, "share": 0.2}
