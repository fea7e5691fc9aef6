"""The issue's end-to-end scenario through the API, and what it leaves behind in tables, audit and logs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from complaints.access_codes import normalise_access_code
from tests.complaints.support import (
    ANSWER,
    DESCRIPTION,
    FACTS,
    NAME,
    OFFICE,
    PLACE,
    PUBLIC,
    QUESTION,
    REPLY,
    SECRET_VALUES,
    STATEMENTS,
    Client,
    anonymous_payload,
    assigned_to_handler,
    audit_events,
    complainant_headers,
    named_payload,
    submit,
)
from tests.identity.support import AuthHeaders, DemoDirectory
from tests.plaintext_scan import assert_nowhere_stored, stored_bytes


def without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "request_id"}


async def test_anonymous_complaint_from_submission_to_closed_reply(
    client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, engine: AsyncEngine
) -> None:
    station = demo_directory.unit("rev-dresden-nord")
    # An anonymous citizen submits and receives a reference and an access code.
    receipt = await submit(client, anonymous_payload(police_unit_id=str(station.id)))
    assert receipt["reference"] == "BS-2026-000001"
    assert receipt["status"] == "received"
    code = receipt["access_code"]
    assert len(normalise_access_code(code) or "") == 24

    # The lead assigns it; the handler triages it and asks the station for a statement.
    complaint = await assigned_to_handler(client, auth_headers, demo_directory, receipt["reference"])
    handler = await auth_headers("complaints.handler")
    triaged = await client.post(f"{OFFICE}/{complaint}/triage", json={"complete": True}, headers=handler)
    assert triaged.json()["status"] == "in_progress"
    requested = await client.post(
        f"{OFFICE}/{complaint}/statement-requests",
        json={"question": QUESTION, "released_facts": FACTS},
        headers=handler,
    )
    assert requested.status_code == 201, requested.text
    assert requested.json()["status"] == "statement_requested"
    assert requested.json()["deadline"] is None  # the answer clock is paused

    # The station's supervisor sees the question, the released facts, deadline, reference, category:
    # nothing else of the complaint.
    supervisor = await auth_headers("supervisor.dresden")
    inbox = await client.get(STATEMENTS, headers=supervisor)
    assert [item["complaint_reference"] for item in inbox.json()] == [receipt["reference"]]
    request_id = inbox.json()[0]["id"]
    shown = await client.get(f"{STATEMENTS}/{request_id}", headers=supervisor)
    assert shown.status_code == 200
    view = shown.json()
    assert view["question"] == QUESTION
    assert view["released_facts"] == FACTS
    assert view["category"] == "conduct_on_duty"
    assert view["category_label"] == "Verhalten im Dienst"
    assert view["deadline"] == "2026-12-07"  # 10 working days after Monday 23 November
    assert view["complainant"] is None
    assert DESCRIPTION not in shown.text
    assert PLACE not in shown.text
    assert set(view) == {
        "id",
        "complaint_reference",
        "category",
        "category_label",
        "deadline",
        "requested_on",
        "answered_at",
        "overdue",
        "question",
        "released_facts",
        "answer",
        "disclosure_approved",
        "complainant",
    }
    answered = await client.post(
        f"{STATEMENTS}/{request_id}/statement", json={"answer": ANSWER}, headers=supervisor
    )
    assert answered.status_code == 200, answered.text

    detail = await client.get(f"{OFFICE}/{complaint}", headers=handler)
    assert detail.json()["status"] == "statement_received"
    assert detail.json()["statement_requests"][0]["answer"] == ANSWER
    assert detail.json()["deadline"] == "2026-12-21"  # 20 working days; the pause held no working day

    # The lead decides "teilweise begründet", with a reply to the complainant.
    lead = await auth_headers("complaints.lead")
    decided = await client.post(
        f"{OFFICE}/{complaint}/decision",
        json={"outcome": "partly_justified", "reply": REPLY, "final": True},
        headers=lead,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "decision"

    # The citizen, with reference and code, reads the reply.
    citizen = await complainant_headers(client, receipt["reference"], code)
    me = (await client.get(f"{PUBLIC}/me", headers=citizen)).json()
    assert me["status"] == "decided"
    assert me["outcome"] == "partly_justified"
    assert me["outcome_label"] == "teilweise begründet"
    assert [message["body"] for message in me["messages"]] == [REPLY]
    assert me["messages"][0]["author"] == "office"

    closed = await client.post(f"{OFFICE}/{complaint}/close", headers=lead)
    assert closed.json()["status"] == "closed"
    assert (await client.get(f"{PUBLIC}/me", headers=citizen)).json()["status"] == "closed"

    # Every transition and every read of decrypted data is in the audit log, without content.
    events = await audit_events(engine)
    actions = [event.action for event in events]
    for action in (
        "complaint:complaint:submit",
        "complaint:complaint:assign",
        "complaint:complaint:start_triage",
        "complaint:complaint:complete_triage",
        "complaint:complaint:request_statement",
        "complaint:statement_request:create",
        "complaint:statement_request:read",
        "complaint:statement_request:answer",
        "complaint:complaint:receive_statement",
        "complaint:complaint:read",
        "complaint:complaint:decide",
        "complaint:access:open",
        "complaint:complaint:close",
    ):
        assert action in actions, action
    unit_read = next(e for e in events if e.action == "complaint:statement_request:read")
    assert json.loads(unit_read.details)["fields"] == [
        "statement_request.question",
        "statement_request.released_facts",
    ]
    assert unit_read.actor_unit_id == str(station.id)
    decide = next(e for e in events if e.action == "complaint:complaint:decide")
    assert json.loads(decide.details)["outcome"] == "partly_justified"
    await assert_nowhere_stored(engine, DESCRIPTION, PLACE, QUESTION, FACTS, ANSWER, REPLY, code)


async def test_a_named_complaint_leaves_no_personal_value_or_code_in_tables_audit_or_logs(
    client: Client,
    auth_headers: AuthHeaders,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    capsys: pytest.CaptureFixture[str],
) -> None:
    receipt = await submit(client, named_payload())
    code = receipt["access_code"]
    citizen = await complainant_headers(client, receipt["reference"], code)
    assert (
        await client.post(f"{PUBLIC}/me/messages", json={"body": "Ich habe noch Fotos."}, headers=citizen)
    ).status_code == 201
    complaint = await assigned_to_handler(client, auth_headers, demo_directory, receipt["reference"])
    detail = await client.get(f"{OFFICE}/{complaint}", headers=await auth_headers("complaints.handler"))
    assert detail.json()["complainant"]["name"] == NAME

    # Codes are typed in many forms; none of them, nor any personal value, is stored anywhere.
    symbols = normalise_access_code(code)
    assert symbols is not None
    await assert_nowhere_stored(engine, *SECRET_VALUES, code, symbols, "Ich habe noch Fotos")
    stored = await stored_bytes(engine)
    assert receipt["reference"].encode() in stored  # the scan does see plain columns
    for event in await audit_events(engine, ""):
        row = json.dumps([event.details, event.target_id, event.actor_id])
        assert code not in row
        assert symbols not in row
    logged = capsys.readouterr()
    for value in (*SECRET_VALUES, code, symbols):
        assert value not in logged.err
        assert value not in logged.out


async def test_disclosure_releases_the_identity_to_the_addressed_unit_only_after_the_lead_approves(
    client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, engine: AsyncEngine
) -> None:
    station = demo_directory.unit("rev-dresden-nord")
    receipt = await submit(client, named_payload(police_unit_id=str(station.id)))
    complaint = await assigned_to_handler(client, auth_headers, demo_directory, receipt["reference"])
    handler = await auth_headers("complaints.handler")
    await client.post(f"{OFFICE}/{complaint}/triage", json={}, headers=handler)
    await client.post(
        f"{OFFICE}/{complaint}/statement-requests", json={"question": QUESTION}, headers=handler
    )
    supervisor = await auth_headers("supervisor.dresden")
    request_id = (await client.get(STATEMENTS, headers=supervisor)).json()[0]["id"]

    before = await client.get(f"{STATEMENTS}/{request_id}", headers=supervisor)
    assert before.json()["complainant"] is None
    assert before.json()["disclosure_approved"] is False
    assert NAME not in before.text

    # Only the lead may approve (the handler lacks the permission).
    refused = await client.post(
        f"{OFFICE}/{complaint}/disclosure-approval",
        json={"statement_request_id": request_id},
        headers=handler,
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.forbidden")
    lead = await auth_headers("complaints.lead")
    approved = await client.post(
        f"{OFFICE}/{complaint}/disclosure-approval", json={"statement_request_id": request_id}, headers=lead
    )
    assert approved.status_code == 200, approved.text

    after = (await client.get(f"{STATEMENTS}/{request_id}", headers=supervisor)).json()
    assert after["disclosure_approved"] is True
    assert after["complainant"] == {
        "name": NAME,
        "email": "wiebke.kallweit@example.org",
        "phone": "+49 351 5557788",
        "address": "Bautzner Landstraße 213, 01324 Dresden",
    }
    events = await audit_events(engine)
    approval = [e for e in events if e.action == "complaint:statement_request:approve_disclosure"]
    assert len(approval) == 1
    assert approval[0].actor_id == str(demo_directory.account("complaints.lead").user_id)
    assert json.loads(approval[0].details) == {"complaint_id": complaint, "unit_id": str(station.id)}
    reads = [e for e in events if e.action == "complaint:statement_request:read"]
    assert json.loads(reads[-1].details)["identity_disclosed"] is True
    assert "complaint.name" in json.loads(reads[-1].details)["fields"]
    assert json.loads(reads[0].details)["identity_disclosed"] is False


async def test_police_employees_identity_is_for_the_lead_only(
    client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory
) -> None:
    receipt = await submit(client, named_payload(complainant_kind="police_employee"))
    complaint = await assigned_to_handler(client, auth_headers, demo_directory, receipt["reference"])
    as_handler = (
        await client.get(f"{OFFICE}/{complaint}", headers=await auth_headers("complaints.handler"))
    ).json()
    assert as_handler["from_police_staff"] is True
    assert as_handler["identity_withheld"] is True
    assert as_handler["complainant"] is None
    assert as_handler["description"] == DESCRIPTION
    as_lead = (
        await client.get(f"{OFFICE}/{complaint}", headers=await auth_headers("complaints.lead"))
    ).json()
    assert as_lead["complainant"]["name"] == NAME
