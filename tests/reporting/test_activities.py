"""The register of joint cooperation activities: recorded by the WEISSER RING state office, read with the
cooperation report's permission, audited, and counted in the report."""

from __future__ import annotations

import json
import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.identity.roles import Role
from tests.identity.support import AuthHeaders, DemoDirectory
from tests.reporting.test_report_api import report_events

Client = AsyncTestClient[Litestar]
URL = "/api/v1/reports/activities"


def activity(
    directory: DemoDirectory, held_on: str, kind: str, participants: int, *units: str
) -> dict[str, object]:
    return {
        "held_on": held_on,
        "kind": kind,
        "participants": participants,
        "organising_unit_ids": [str(directory.unit(code).id) for code in units],
    }


async def test_record_list_count_and_remove(
    client: Client, auth_headers: AuthHeaders, engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    office = await auth_headers(Role.WR_STATE_OFFICE)
    d = demo_directory
    payloads = [
        activity(d, "2025-04-15", "prevention_event", 40, "rev-dresden-nord", "wr-dresden"),
        activity(d, "2025-05-20", "training", 25, "pd-leipzig", "wr-leipzig"),
        activity(d, "2025-06-30", "training", 12, "rev-meissen", "wr-meissen"),
        activity(d, "2025-07-01", "conference", 80, "sn", "wr-sn"),  # third quarter
    ]
    created = []
    for payload in payloads:
        response = await client.post(URL, json=payload, headers=office)
        assert response.status_code == 201, response.text
        created.append(response.json())
    assert created[0]["participants"] == 40
    assert created[0]["recorded_by_id"] == str(d.account(Role.WR_STATE_OFFICE).user_id)

    auditor = await auth_headers(Role.AUDITOR)
    listed = await client.get(URL, params={"year": 2025, "quarter": 2}, headers=auditor)
    assert [a["id"] for a in listed.json()] == [c["id"] for c in created[:3]]
    dresden = await client.get(URL, params={"year": 2025, "directorate": "pd-dresden"}, headers=auditor)
    assert [a["held_on"] for a in dresden.json()] == ["2025-04-15", "2025-06-30"]

    report = await client.get(
        "/api/v1/reports/cooperation", params={"year": 2025, "quarter": 2}, headers=auditor
    )
    table = next(t for t in report.json()["tables"] if t["key"] == "activities")
    assert {r["key"]: r["values"] for r in table["rows"]} == {
        "prevention_event": {"count": 1, "participants": 40},  # events, not people: never withheld
        "training": {"count": 2, "participants": 37},
        "conference": {"count": 0, "participants": 0},
        "total": {"count": 3, "participants": 77},
    }

    removed = await client.delete(f"{URL}/{created[1]['id']}", headers=office)
    assert removed.status_code == 204
    again = await client.delete(f"{URL}/{created[1]['id']}", headers=office)
    assert (again.status_code, again.json()["code"]) == (404, "report.activity_not_found")
    left = await client.get(URL, params={"year": 2025}, headers=office)
    assert len(left.json()) == 3

    events = [(e.action, e.target_id) for e in await report_events(engine, "report:activity:")]
    assert events[:4] == [("report:activity:create", c["id"]) for c in created]
    assert ("report:activity:delete", created[1]["id"]) in events
    reads = [json.loads(e.details) for e in await report_events(engine, "report:activity:read")]
    assert reads[0] == {"period": "2025-Q2", "scope": "state", "returned": 3}


async def test_who_may_record_and_what_is_refused(
    client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory
) -> None:
    payload = activity(demo_directory, "2025-04-15", "training", 10, "rev-dresden-nord", "wr-dresden")
    for role in (Role.AUDITOR, Role.WR_BRANCH_LEAD, Role.POLICE_SUPERVISOR, Role.ADMIN):
        refused = await client.post(URL, json=payload, headers=await auth_headers(role))
        assert refused.status_code == 403, role
    assert (await client.post(URL, json=payload)).status_code == 401

    office = await auth_headers(Role.WR_STATE_OFFICE)
    invalid = [
        {**payload, "organising_unit_ids": [str(uuid.uuid4())]},
        {**payload, "organising_unit_ids": [str(demo_directory.unit("zbs-sn").id)]},
        {**payload, "held_on": "2099-01-01"},
    ]
    for body in invalid:
        response = await client.post(URL, json=body, headers=office)
        assert (response.status_code, response.json()["code"]) == (422, "report.activity_invalid"), body
    for body in (
        {**payload, "participants": -1},
        {**payload, "organising_unit_ids": []},
        {**payload, "kind": "party"},
        {**payload, "title": "Infoabend bei Familie Müller"},  # no free text in the register
    ):
        response = await client.post(URL, json=body, headers=office)
        assert (response.status_code, response.json()["code"]) == (422, "request.validation"), body
