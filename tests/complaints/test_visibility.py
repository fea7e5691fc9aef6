"""Who sees what of complaints, role by role: referral staff, auditors and administrators nothing (403),
police users only the statement requests addressed to their own unit (others 404), handlers the
complaints assigned to them (others 404), the lead everything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from referral_service.identity.roles import Role
from tests.complaints.support import (
    DESCRIPTION,
    OFFICE,
    PLACE,
    QUESTION,
    STATEMENTS,
    Client,
    anonymous_payload,
    assigned_to_handler,
    submit,
)
from tests.identity.support import AuthHeaders, DemoDirectory


@dataclass
class Case:
    reference: str
    complaint_id: str
    dresden_request: str  # addressed to Polizeirevier Dresden-Nord
    leipzig_request: str  # addressed to Polizeirevier Leipzig-Zentrum


@pytest.fixture
async def case(client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory) -> Case:
    dresden = demo_directory.unit("rev-dresden-nord").id
    leipzig = demo_directory.unit("rev-leipzig-zentrum").id
    receipt = await submit(client, anonymous_payload(police_unit_id=str(dresden)))
    complaint = await assigned_to_handler(client, auth_headers, demo_directory, receipt["reference"])
    handler = await auth_headers("complaints.handler")
    await client.post(f"{OFFICE}/{complaint}/triage", json={}, headers=handler)
    for unit in (dresden, leipzig):
        response = await client.post(
            f"{OFFICE}/{complaint}/statement-requests",
            json={"question": QUESTION, "unit_id": str(unit)},
            headers=handler,
        )
        assert response.status_code == 201, response.text
    detail = (await client.get(f"{OFFICE}/{complaint}", headers=handler)).json()
    by_unit = {request["unit_id"]: request["id"] for request in detail["statement_requests"]}
    return Case(receipt["reference"], complaint, by_unit[str(dresden)], by_unit[str(leipzig)])


def routes(case: Case) -> list[tuple[str, str, dict[str, Any] | None]]:
    one = f"{OFFICE}/{case.complaint_id}"
    return [
        ("GET", OFFICE, None),
        ("GET", one, None),
        ("GET", f"{one}/messages", None),
        ("POST", f"{one}/messages", {"body": "x"}),
        ("POST", f"{one}/triage", {}),
        ("POST", f"{one}/decision", {"outcome": "justified"}),
        ("POST", f"{one}/withdraw", None),
        ("GET", f"{STATEMENTS}/{case.dresden_request}", None),
        ("POST", f"{STATEMENTS}/{case.dresden_request}/statement", {"answer": "x"}),
    ]


NO_COMPLAINT_ROLES = [
    "officer.dresden",
    "officer.leipzig",
    "volunteer.dresden",
    "branchlead.leipzig",
    "stateoffice.sachsen",
    "auditor.sachsen",
    "admin.sachsen",
]


@pytest.mark.parametrize("who", NO_COMPLAINT_ROLES)
async def test_referral_staff_auditors_and_administrators_see_nothing(
    client: Client, auth_headers: AuthHeaders, case: Case, who: str
) -> None:
    headers = await auth_headers(who)
    for method, path, body in [*routes(case), ("GET", STATEMENTS, None)]:
        response = await client.request(method, path, json=body, headers=headers)
        assert (response.status_code, response.json()["code"]) == (403, "auth.forbidden"), (method, path)
        assert case.reference not in response.text
        assert DESCRIPTION not in response.text


async def test_without_a_sign_in_nothing_of_the_office_is_reachable(client: Client, case: Case) -> None:
    for method, path, body in routes(case):
        response = await client.request(method, path, json=body)
        assert (response.status_code, response.json()["code"]) == (401, "auth.unauthenticated"), path


async def test_a_supervisor_sees_only_requests_addressed_to_the_own_unit(
    client: Client, auth_headers: AuthHeaders, case: Case
) -> None:
    supervisor = await auth_headers("supervisor.dresden")
    listed = (await client.get(STATEMENTS, headers=supervisor)).json()
    assert [item["id"] for item in listed] == [case.dresden_request]
    for method, path, body in (
        ("GET", f"{STATEMENTS}/{case.leipzig_request}", None),
        ("POST", f"{STATEMENTS}/{case.leipzig_request}/statement", {"answer": "Wir waren es nicht."}),
    ):
        response = await client.request(method, path, json=body, headers=supervisor)
        assert (response.status_code, response.json()["code"]) == (
            404,
            "complaint.statement_request_not_found",
        )
    # The complaint itself stays closed to the supervisor: its routes need office permissions.
    for method, path, body in routes(case)[:7]:
        response = await client.request(method, path, json=body, headers=supervisor)
        assert (response.status_code, response.json()["code"]) == (403, "auth.forbidden"), path
    shown = await client.get(f"{STATEMENTS}/{case.dresden_request}", headers=supervisor)
    assert PLACE not in shown.text
    assert DESCRIPTION not in shown.text


async def test_handlers_see_only_their_own_complaints_and_the_lead_sees_all(
    client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, case: Case
) -> None:
    unassigned = await submit(client)
    handler = await auth_headers(Role.COMPLAINTS_HANDLER)
    lead = await auth_headers(Role.COMPLAINTS_LEAD)
    # The handler's queue offers the complaint nobody has taken, but reading it needs taking it first.
    assert {item["reference"] for item in (await client.get(OFFICE, headers=handler)).json()} == {
        case.reference,
        unassigned["reference"],
    }
    assert {item["reference"] for item in (await client.get(OFFICE, headers=lead)).json()} == {
        case.reference,
        unassigned["reference"],
    }
    other = next(
        item["id"]
        for item in (await client.get(OFFICE, headers=lead)).json()
        if item["reference"] == unassigned["reference"]
    )
    for method, path, body in routes(Case(unassigned["reference"], other, "", ""))[1:7]:
        response = await client.request(method, path, json=body, headers=handler)
        assert (response.status_code, response.json()["code"]) == (404, "complaint.not_found"), path
    # Statement requests are the police units' view; the office reads them with the complaint.
    assert (await client.get(STATEMENTS, headers=handler)).status_code == 403
