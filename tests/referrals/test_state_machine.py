"""The referral workflow as a state machine: random sequences of the police's and WEISSER RING's actions,
driven through the API on both engines, never leave a referral inconsistent.

What "consistent" means here, from the code (`referrals.domain`, `referrals.service.workflow`):

- acceptance: a referral not withdrawn has `accepted_at` exactly when it was accepted (accepted,
  contact attempted, in contact, closed); one declined by its branch has no branch;
- contact: `first_contact_at` is set when the referral is in contact (or closed or withdrawn after it),
  never before submission; closing as "supported" needs that contact;
- end: `closed_at` and the close outcome exactly when closed; `withdrawn_at` exactly when consent was
  withdrawn, and then every personal field is erased; submission <= acceptance <= closing, and no
  timestamp lies after the last change;
- history: the transition rows are steps of the transition table and, in time order, lead from
  the submission to the current status.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.keys.fields import encrypted_columns
from referral_service.referrals.domain import TRANSITIONS, CloseOutcome, ReferralStatus
from referral_service.referrals.models import Referral, ReferralTransition
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock
from tests.referrals.support import referral_payload
from tests.state_machines import Bridge, run_machine

S = ReferralStatus
Client = AsyncTestClient[Litestar]
REFERRALS = "/api/v1/referrals"
ACCEPTED = frozenset({S.ACCEPTED, S.CONTACT_ATTEMPTED, S.IN_CONTACT, S.CLOSED})
REFERRAL_TABLES = ("referral_transitions", "referral_contact_attempts", "referrals")


def _chain_ends_at(rows: list[ReferralTransition]) -> str:
    # The submission's row comes from nowhere ("") into `submitted`.
    current, left = "", sorted(rows, key=lambda row: row.at)
    while left:
        earliest = left[0].at
        step = next((row for row in left if row.at == earliest and row.from_status == current), None)
        assert step is not None, f"no step from {current} at {earliest}"
        left.remove(step)
        current = step.to_status
    return current


async def check_consistency(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session:
        referrals = list((await session.exec(select(Referral))).all())
        transitions = list((await session.exec(select(ReferralTransition))).all())
    table = {(start.value, action.value): end.value for (start, action), end in TRANSITIONS.items()}
    table[("", "submit")] = S.SUBMITTED.value
    personal = encrypted_columns(Referral)
    for r in referrals:
        status = S(r.status)
        if status is not S.WITHDRAWN:
            assert (r.accepted_at is not None) is (status in ACCEPTED), (status, r.accepted_at)
            assert r.victim_name is not None
        if status is S.DECLINED_BY_BRANCH:
            assert r.branch_id is None
        if status is S.IN_CONTACT or r.close_outcome == CloseOutcome.SUPPORTED.value:
            assert r.first_contact_at is not None, status
        if r.first_contact_at is not None:
            assert status in {S.IN_CONTACT, S.CLOSED, S.WITHDRAWN}, status
            assert r.submitted_at <= r.first_contact_at <= r.updated_at
        assert (r.closed_at is not None) is (status is S.CLOSED), (status, r.closed_at)
        assert (r.close_outcome is not None) is (status is S.CLOSED), (status, r.close_outcome)
        assert (r.withdrawn_at is not None) is (status is S.WITHDRAWN), (status, r.withdrawn_at)
        if status is S.WITHDRAWN:
            assert [name for name in personal if getattr(r, name) is not None] == []
        moments = [m for m in (r.submitted_at, r.accepted_at, r.closed_at or r.withdrawn_at) if m is not None]
        assert moments == sorted(moments), (status, moments)
        assert moments[-1] <= r.updated_at, (status, moments)
        rows = [row for row in transitions if row.referral_id == r.id]
        assert all(table.get((row.from_status, row.action)) == row.to_status for row in rows)
        assert _chain_ends_at(rows) == r.status


async def forget_referrals(engine: AsyncEngine) -> None:
    """Each example starts without referrals, so that a failing example replays alike when shrunk."""
    from referral_service.db import metadata

    async with engine.begin() as connection:
        for name in REFERRAL_TABLES:
            await connection.execute(metadata.tables[name].delete())


def referral_machine(
    bridge: Bridge,
    client: Client,
    engine: AsyncEngine,
    headers: dict[str, dict[str, str]],
    branches: dict[str, str],
    clock: FakeClock,
) -> type[RuleBasedStateMachine]:
    officer, volunteer, lead, state_office = (
        headers["officer"],
        headers["volunteer"],
        headers["lead"],
        headers["state_office"],
    )
    start = clock.current

    class ReferralWorkflow(RuleBasedStateMachine):
        referral = ""
        status = S.SUBMITTED.value

        def post(self, action: str, who: dict[str, str], body: dict[str, Any] | None = None) -> None:
            clock.advance(minutes=11)
            response = bridge.run(
                client.post(f"{REFERRALS}/{self.referral}/{action}", json=body, headers=who)
            )
            # Refused steps are a 409 (422: a close outcome that does not fit the state; 404: the referral
            # now lies outside the actor's branch, after a decline or routing elsewhere), never a 5xx.
            assert response.status_code in {200, 201, 404, 409, 422}, (action, response.status_code)
            if response.status_code == 409:
                assert response.json()["code"] == "referral.invalid_transition", response.text
            if response.status_code == 404:
                assert response.json()["code"] == "referral.not_found", response.text
            if response.status_code == 200:
                self.status = response.json()["status"]

        @initialize()
        def submit(self) -> None:
            clock.current = start
            created = bridge.run(
                client.post(
                    REFERRALS, json=referral_payload(postcode="01099", consent_at=start), headers=officer
                )
            )
            assert created.status_code == 201, created.text
            self.referral = created.json()["id"]
            self.status = S.SUBMITTED.value

        @rule()
        def accept(self) -> None:
            self.post("accept", volunteer)

        @rule(reached=st.booleans(), channel=st.sampled_from(["phone", "email", "letter"]))
        def record_contact(self, reached: bool, channel: str) -> None:
            self.post("first-contact" if reached else "contact-attempts", volunteer, {"channel": channel})

        @rule(outcome=st.sampled_from(list(CloseOutcome)))
        def close(self, outcome: CloseOutcome) -> None:
            self.post("close", volunteer, {"outcome": outcome.value, "support_given": ["personal_support"]})

        @rule()
        def decline(self) -> None:
            self.post("decline", lead, {"reason": "no_capacity"})

        @rule(branch=st.sampled_from(["wr-dresden", "wr-leipzig"]))
        def route(self, branch: str) -> None:
            self.post("route", state_office, {"branch_id": branches[branch]})

        @rule()
        def withdraw_consent(self) -> None:
            self.post("withdraw-consent", officer)

        @rule()
        def next_sensible_step(self) -> None:
            """What the branch would do next: random runs reach contact and closing this way."""
            if self.status == S.SUBMITTED:
                self.accept()
            elif self.status in {S.ACCEPTED, S.CONTACT_ATTEMPTED}:
                self.record_contact(True, "phone")
            elif self.status == S.IN_CONTACT:
                self.close(CloseOutcome.SUPPORTED)

        @invariant()
        def consistent(self) -> None:
            bridge.run(check_consistency(engine))

        def teardown(self) -> None:
            bridge.run(forget_referrals(engine))

    return ReferralWorkflow


async def test_no_sequence_of_actions_leaves_a_referral_inconsistent(
    client: Client,
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    engine: AsyncEngine,
    referral_clock: FakeClock,
) -> None:
    headers = {
        "officer": await auth_headers("officer.dresden"),
        "volunteer": await auth_headers("volunteer.dresden"),
        "lead": await auth_headers("branchlead.dresden"),
        "state_office": await auth_headers("stateoffice.sachsen"),
    }
    branches = {code: str(routed.unit(code).id) for code in ("wr-dresden", "wr-leipzig")}
    machine = referral_machine(
        Bridge(asyncio.get_running_loop()), client, engine, headers, branches, referral_clock
    )
    await run_machine(machine)
