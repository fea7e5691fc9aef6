"""The referral domain's notifications: exactly the users whose work an event is, who can open its link,
once per deadline and escalation step, and never a word of the case."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.notifications.models import Notification
from referral_service.referrals.deadlines import escalate_overdue
from referral_service.referrals.policy import ReferralPolicy
from referral_service.settings import LOCAL_TIMEZONE, SettingsError
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock
from tests.referrals.support import SECRET_VALUES, submit

Client = AsyncTestClient[Litestar]
# Values of the seeded referral besides SECRET_VALUES that identify the victim.
PERSONAL = (*SECRET_VALUES, "Quast", "1984-03-02", "abends ab 18 Uhr", "Hausflur")


class Outbox:
    """The notification rows written since the last look, as (kind, recipient's username, reference)."""

    def __init__(self, engine: AsyncEngine, directory: DemoDirectory) -> None:
        self.engine = engine
        self.names = {account.user_id: name for name, account in directory.accounts.items()}
        self.seen: set[uuid.UUID] = set()

    async def rows(self) -> list[Notification]:
        async with AsyncSession(self.engine) as session:
            return list(
                (await session.exec(select(Notification).order_by(col(Notification.created_at)))).all()
            )

    async def new(self, client: Client, auth_headers: AuthHeaders) -> set[tuple[str, str, str]]:
        """The new rows; each recipient can open the row's link now (out of scope it would be 404)."""
        found: set[tuple[str, str, str]] = set()
        for row in await self.rows():
            if row.id in self.seen:
                continue
            self.seen.add(row.id)
            assert row.recipient_user_id is not None
            name = self.names[row.recipient_user_id]
            page = await client.get(row.link, headers=await auth_headers(name))
            assert page.status_code == 200, (row.kind, row.link)
            found.add((row.kind, name, row.reference))
        return found

    async def assert_no_personal_data(self) -> None:
        for row in await self.rows():
            text = repr(row.model_dump()).lower()
            for value in PERSONAL:
                assert value.lower() not in text, f"personal data in a notification: {value[:3]}…"


async def test_arrivals_and_assignments_notify_the_branch_team_the_assignee_or_the_state_office(
    client: Client, auth_headers: AuthHeaders, routed: DemoDirectory, engine: AsyncEngine
) -> None:
    outbox = Outbox(engine, routed)
    lead_dd, lead_le = await auth_headers("branchlead.dresden"), await auth_headers("branchlead.leipzig")
    state = await auth_headers("stateoffice.sachsen")

    dresden = await submit(client, auth_headers, postcode="01099")
    ref = dresden["reference"]
    # The branch's volunteers and leads; not Leipzig, not the state office, not the officer.
    assert await outbox.new(client, auth_headers) == {
        ("referrals.new_in_branch", "volunteer.dresden", ref),
        ("referrals.new_in_branch", "branchlead.dresden", ref),
    }
    # Somebody who cannot open the case gets no link to it.
    outsider = await client.get(f"/weisser-ring/faelle/{dresden['id']}", headers=lead_le)
    assert outsider.status_code == 404

    refused = await client.post(
        f"/api/v1/referrals/{dresden['id']}/assign",
        json={"assignee_id": str(routed.account("volunteer.leipzig").user_id)},
        headers=lead_dd,
    )
    assert refused.status_code == 422
    assert await outbox.new(client, auth_headers) == set()
    assigned = await client.post(
        f"/api/v1/referrals/{dresden['id']}/assign",
        json={"assignee_id": str(routed.account("volunteer.dresden").user_id)},
        headers=lead_dd,
    )
    assert assigned.status_code == 200, assigned.text
    assert await outbox.new(client, auth_headers) == {("referrals.assigned", "volunteer.dresden", ref)}

    # No branch for the postcode: the state office; a corrected postcode moves it to Leipzig, which
    # declines, and the state office hands it on to Dresden.
    unrouted = await submit(client, auth_headers, postcode="99999")
    ref = unrouted["reference"]
    assert await outbox.new(client, auth_headers) == {
        ("referrals.to_state_office", "stateoffice.sachsen", ref)
    }
    path = f"/api/v1/referrals/{unrouted['id']}"
    officer = await auth_headers("officer.dresden")
    corrected = await client.patch(path, json={"victim": {"postcode": "04109"}}, headers=officer)
    assert corrected.status_code == 200, corrected.text
    assert await outbox.new(client, auth_headers) == {
        ("referrals.new_in_branch", "volunteer.leipzig", ref),
        ("referrals.new_in_branch", "branchlead.leipzig", ref),
    }
    declined = await client.post(path + "/decline", json={"reason": "no_capacity"}, headers=lead_le)
    assert declined.status_code == 200
    assert await outbox.new(client, auth_headers) == {
        ("referrals.to_state_office", "stateoffice.sachsen", ref)
    }
    dresden_branch = {"branch_id": str(routed.unit("wr-dresden").id)}
    assert (await client.post(path + "/route", json=dresden_branch, headers=state)).status_code == 200
    assert await outbox.new(client, auth_headers) == {
        ("referrals.new_in_branch", "volunteer.dresden", ref),
        ("referrals.new_in_branch", "branchlead.dresden", ref),
    }
    # Nobody is told of their own step: the lead takes the case on, then gives it to the volunteer.
    own = {"assignee_id": str(routed.account("branchlead.dresden").user_id)}
    assert (await client.post(path + "/assign", json=own, headers=lead_dd)).status_code == 200
    assert await outbox.new(client, auth_headers) == set()
    other = {"assignee_id": str(routed.account("volunteer.dresden").user_id)}
    assert (await client.post(path + "/assign", json=other, headers=lead_dd)).status_code == 200
    assert await outbox.new(client, auth_headers) == {("referrals.assigned", "volunteer.dresden", ref)}
    await outbox.assert_no_personal_data()


async def test_deadlines_remind_once_and_escalate_to_the_lead_then_the_state_office_once_each(
    client: Client,
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    engine: AsyncEngine,
    referral_clock: FakeClock,
    referral_policy: ReferralPolicy,
) -> None:
    outbox = Outbox(engine, routed)
    start = referral_clock.now()
    branch, unrouted = (
        await submit(client, auth_headers),
        await submit(client, auth_headers, postcode="99999"),
    )
    ref, lone = branch["reference"], unrouted["reference"]
    await outbox.new(client, auth_headers)

    async def job_twice() -> set[tuple[str, str, str]]:
        await escalate_overdue(engine, referral_policy)
        first = await outbox.new(client, auth_headers)
        await escalate_overdue(engine, referral_policy)
        assert await outbox.new(client, auth_headers) == set()  # no duplicates
        return first

    referral_clock.advance(hours=11)  # the acceptance deadline is 13 h away: no reminder yet
    assert await job_twice() == set()
    referral_clock.advance(hours=2)
    # Nobody holds the case: the branch lead, or the state office for the case without a branch.
    assert await job_twice() == {
        ("referrals.deadline_soon", "branchlead.dresden", ref),
        ("referrals.deadline_soon", "stateoffice.sachsen", lone),
    }
    reminders = [row for row in await outbox.rows() if row.kind == "referrals.deadline_soon"]
    accept_by = (start + dt.timedelta(hours=24)).astimezone(LOCAL_TIMEZONE).date()
    assert {row.deadline for row in reminders} == {accept_by}

    referral_clock.advance(hours=12)  # 25 h: not accepted in time
    assert await job_twice() == {
        ("referrals.escalated", "branchlead.dresden", ref),
        ("referrals.escalated", "stateoffice.sachsen", lone),
    }
    volunteer = {"assignee_id": str(routed.account("volunteer.dresden").user_id)}
    lead = await auth_headers("branchlead.dresden")
    assert (
        await client.post(f"/api/v1/referrals/{branch['id']}/assign", json=volunteer, headers=lead)
    ).status_code == 200
    assert await outbox.new(client, auth_headers) == {("referrals.assigned", "volunteer.dresden", ref)}

    referral_clock.advance(hours=36)  # 61 h: first contact due within 12 h
    assert await job_twice() == {
        ("referrals.deadline_soon", "volunteer.dresden", ref),
        ("referrals.deadline_soon", "stateoffice.sachsen", lone),
    }
    referral_clock.advance(hours=12)  # 73 h: no first contact in time
    assert await job_twice() == {
        ("referrals.escalated", "stateoffice.sachsen", ref),
        ("referrals.escalated", "stateoffice.sachsen", lone),
    }
    referral_clock.advance(hours=24)
    assert await job_twice() == set()
    await outbox.assert_no_personal_data()


def test_the_reminder_lead_time_is_configurable() -> None:
    assert ReferralPolicy.from_environ({}).remind_within == dt.timedelta(hours=12)
    configured = ReferralPolicy.from_environ({"REFERRAL_DEADLINE_REMIND_HOURS": "6"})
    assert configured.remind_within == dt.timedelta(hours=6)
    with pytest.raises(SettingsError, match="REFERRAL_DEADLINE_REMIND_HOURS"):
        ReferralPolicy.from_environ({"REFERRAL_DEADLINE_REMIND_HOURS": "0"})
