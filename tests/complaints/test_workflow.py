"""The office workflow: the transition table, refused steps (409 with a stable code), decisions and drafts,
side exits, assignment."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from complaints.domain import (
    OPEN_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    ComplaintAction,
    ComplaintStatus,
    next_status,
)
from complaints.errors import InvalidTransitionError
from tests.complaints.support import (
    ANSWER,
    OFFICE,
    QUESTION,
    STATEMENTS,
    Client,
    anonymous_payload,
    assigned_to_handler,
    audit_events,
    submit,
)
from tests.identity.support import AuthHeaders, DemoDirectory

S = ComplaintStatus
A = ComplaintAction

# The happy path of the issue, one step at a time.
HAPPY_PATH = [
    (S.RECEIVED, A.START_TRIAGE, S.TRIAGE),
    (S.TRIAGE, A.COMPLETE_TRIAGE, S.IN_PROGRESS),
    (S.IN_PROGRESS, A.REQUEST_STATEMENT, S.STATEMENT_REQUESTED),
    (S.STATEMENT_REQUESTED, A.RECEIVE_STATEMENT, S.STATEMENT_RECEIVED),
    (S.STATEMENT_RECEIVED, A.RESUME, S.IN_PROGRESS),
    (S.STATEMENT_RECEIVED, A.DECIDE, S.DECISION),
    (S.IN_PROGRESS, A.DECIDE, S.DECISION),
    (S.DECISION, A.CLOSE, S.CLOSED),
]


@pytest.mark.parametrize(("start", "action", "end"), HAPPY_PATH)
def test_the_allowed_steps(start: ComplaintStatus, action: ComplaintAction, end: ComplaintStatus) -> None:
    assert next_status(start, action) is end


# Still being worked on: not yet decided, not finished.
UNDECIDED = sorted(OPEN_STATES - {S.DECISION})


@pytest.mark.parametrize("state", UNDECIDED)
def test_forwarding_and_withdrawal_end_any_undecided_complaint(state: ComplaintStatus) -> None:
    assert next_status(state, A.FORWARD) is S.FORWARDED
    assert next_status(state, A.WITHDRAW) is S.WITHDRAWN


def test_everything_else_is_refused_and_finished_complaints_never_move() -> None:
    allowed = {(start, action) for start, action, _ in HAPPY_PATH}
    allowed |= {(state, action) for state in UNDECIDED for action in (A.FORWARD, A.WITHDRAW)}
    allowed |= {(S.STATEMENT_REQUESTED, A.REQUEST_STATEMENT), (S.STATEMENT_RECEIVED, A.REQUEST_STATEMENT)}
    for state in ComplaintStatus:
        for action in ComplaintAction:
            if (state, action) in allowed:
                continue
            with pytest.raises(InvalidTransitionError) as refused:
                next_status(state, action)
            assert refused.value.code == "complaint.invalid_transition"
            assert refused.value.extra == {"current_status": state.value, "action": action.value}
    assert set(TRANSITIONS) == allowed
    assert {state for state, _ in TRANSITIONS} & TERMINAL_STATES == set()


async def test_invalid_steps_through_the_api_are_409_with_a_stable_code(
    client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, engine: AsyncEngine
) -> None:
    receipt = await submit(
        client, anonymous_payload(police_unit_id=str(demo_directory.unit("rev-dresden-nord").id))
    )
    complaint = await assigned_to_handler(client, auth_headers, demo_directory, receipt["reference"])
    lead = await auth_headers("complaints.lead")
    handler = await auth_headers("complaints.handler")

    refused = [
        await client.post(f"{OFFICE}/{complaint}/close", headers=lead),
        await client.post(
            f"{OFFICE}/{complaint}/decision", json={"outcome": "justified", "final": True}, headers=lead
        ),
        await client.post(
            f"{OFFICE}/{complaint}/statement-requests", json={"question": QUESTION}, headers=handler
        ),
        await client.post(f"{OFFICE}/{complaint}/decision", json={"outcome": "justified"}, headers=handler),
    ]
    for response in refused:
        assert response.status_code == 409, response.text
        body = response.json()
        assert body["code"] == "complaint.invalid_transition"
        assert body["type"] == "urn:referral-service:problem:complaint.invalid_transition"
        assert (body["status"], body["current_status"]) == (409, "received")
        assert response.headers["content-type"].startswith("application/problem+json")

    await client.post(f"{OFFICE}/{complaint}/triage", json={}, headers=handler)
    again = await client.post(f"{OFFICE}/{complaint}/triage", json={}, headers=handler)
    assert (again.status_code, again.json()["code"]) == (409, "complaint.invalid_transition")

    # A statement can be answered once, and only while the complaint awaits it.
    await client.post(
        f"{OFFICE}/{complaint}/statement-requests", json={"question": QUESTION}, headers=handler
    )
    supervisor = await auth_headers("supervisor.dresden")
    request_id = (await client.get(STATEMENTS, headers=supervisor)).json()[0]["id"]
    assert (
        await client.post(f"{STATEMENTS}/{request_id}/statement", json={"answer": ANSWER}, headers=supervisor)
    ).status_code == 200
    twice = await client.post(
        f"{STATEMENTS}/{request_id}/statement", json={"answer": ANSWER}, headers=supervisor
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "complaint.statement_already_answered")

    withdrawn = await client.post(f"{OFFICE}/{complaint}/withdraw", headers=handler)
    assert withdrawn.json()["status"] == "withdrawn"
    for response in (
        await client.post(f"{OFFICE}/{complaint}/forward", json={"reason": "to_prosecutor"}, headers=handler),
        await client.post(
            f"{OFFICE}/{complaint}/assign", json={"assignee_id": str(uuid.uuid4())}, headers=lead
        ),
        await client.post(f"{OFFICE}/{complaint}/withdraw", headers=handler),
    ):
        assert (response.status_code, response.json()["code"]) == (409, "complaint.invalid_transition")
    # Refused steps change nothing and leave no transition event.
    transitions = [e.action for e in await audit_events(engine, "complaint:complaint:")]
    assert transitions.count("complaint:complaint:withdraw") == 1
    assert "complaint:complaint:close" not in transitions


async def test_handlers_draft_the_lead_decides_and_no_decision_needs_a_reason(
    client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, engine: AsyncEngine
) -> None:
    receipt = await submit(client)
    complaint = await assigned_to_handler(client, auth_headers, demo_directory, receipt["reference"])
    handler = await auth_headers("complaints.handler")
    lead = await auth_headers("complaints.lead")
    await client.post(
        f"{OFFICE}/{complaint}/triage", json={"category": "criminal_prosecution"}, headers=handler
    )

    reasonless = await client.post(
        f"{OFFICE}/{complaint}/decision", json={"outcome": "no_decision"}, headers=handler
    )
    assert (reasonless.status_code, reasonless.json()["code"]) == (422, "complaint.invalid")
    stray = {"outcome": "justified", "no_decision_reason": "other"}
    assert (
        await client.post(f"{OFFICE}/{complaint}/decision", json=stray, headers=handler)
    ).status_code == 422
    final = {"outcome": "unjustified", "final": True}
    by_handler = await client.post(f"{OFFICE}/{complaint}/decision", json=final, headers=handler)
    assert (by_handler.status_code, by_handler.json()["code"]) == (403, "complaint.lead_only")

    draft = {
        "outcome": "no_decision",
        "no_decision_reason": "facts_not_established",
        "disciplinary_proceedings": True,
        "reply": "Entwurf der Antwort",
    }
    saved = await client.post(f"{OFFICE}/{complaint}/decision", json=draft, headers=handler)
    assert saved.status_code == 200, saved.text
    assert saved.json()["status"] == "in_progress"
    shown = (await client.get(f"{OFFICE}/{complaint}", headers=lead)).json()
    assert shown["category"] == "criminal_prosecution"
    assert shown["draft"]["outcome"] == "no_decision"
    assert shown["draft"]["reply"] == "Entwurf der Antwort"
    assert shown["outcome"] is None

    decided = await client.post(
        f"{OFFICE}/{complaint}/decision",
        json={**draft, "reply": "Es konnte keine Entscheidung getroffen werden.", "final": True},
        headers=lead,
    )
    assert decided.json()["status"] == "decision"
    shown = (await client.get(f"{OFFICE}/{complaint}", headers=lead)).json()
    assert (shown["outcome"], shown["no_decision_reason"]) == ("no_decision", "facts_not_established")
    assert (shown["disciplinary_proceedings"], shown["criminal_investigation"]) == (True, False)
    assert shown["draft"] is None
    assert shown["decided_at"] is not None
    event = (await audit_events(engine, "complaint:complaint:decide"))[0]
    assert json.loads(event.details)["disciplinary_proceedings"] is True


async def test_forwarding_to_the_prosecutor_ends_the_complaint(
    client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory
) -> None:
    receipt = await submit(client)
    complaint = await assigned_to_handler(client, auth_headers, demo_directory, receipt["reference"])
    handler = await auth_headers("complaints.handler")
    invalid = await client.post(
        f"{OFFICE}/{complaint}/forward", json={"reason": "elsewhere"}, headers=handler
    )
    assert invalid.status_code == 422
    forwarded = await client.post(
        f"{OFFICE}/{complaint}/forward", json={"reason": "to_prosecutor"}, headers=handler
    )
    assert forwarded.json()["status"] == "forwarded"
    shown = (await client.get(f"{OFFICE}/{complaint}", headers=handler)).json()
    assert shown["forward_reason"] == "to_prosecutor"
    assert shown["closed_at"] is not None
    assert shown["overdue"] is False


async def test_only_active_office_staff_can_be_assigned(
    client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory
) -> None:
    receipt = await submit(client)
    lead = await auth_headers("complaints.lead")
    complaint = (await client.get(OFFICE, headers=lead)).json()[0]["id"]
    for user in ("officer.dresden", "auditor.sachsen"):
        body = {"assignee_id": str(demo_directory.account(user).user_id)}
        response = await client.post(f"{OFFICE}/{complaint}/assign", json=body, headers=lead)
        assert (response.status_code, response.json()["code"]) == (422, "complaint.invalid_assignee")
    await assigned_to_handler(client, auth_headers, demo_directory, receipt["reference"])
    # The lead may take the complaint over.
    me = {"assignee_id": str(demo_directory.account("complaints.lead").user_id)}
    assert (await client.post(f"{OFFICE}/{complaint}/assign", json=me, headers=lead)).status_code == 200
    assert (await client.get(OFFICE, headers=await auth_headers("complaints.handler"))).json() == []
