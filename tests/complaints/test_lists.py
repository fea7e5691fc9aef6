"""The office's queue and the units' statement requests as lists: filters, keyset paging, the CSV
export, taking a free complaint, the lead's workload, and that no filter, cursor or export leaves the
caller's scope (handler by handler, role by role), on both engines."""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.config import IdentityConfig
from referral_service.identity.models import RoleAssignment, User
from referral_service.identity.roles import Role
from tests.complaints.support import (
    DESCRIPTION,
    NAME,
    OFFICE,
    QUESTION,
    STATEMENTS,
    Client,
    anonymous_payload,
    assigned_to_handler,
    audit_events,
    complaint_id,
    named_payload,
    problem,
    submit,
)
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock, mint_token


@dataclass
class Office:
    paused: str  # the handler's, a statement requested from Dresden-Nord: no deadline
    free: str  # nobody's, received a day later
    letter: str  # entered by the lead (so theirs), about Leipzig-Zentrum, a letter
    colleague: str  # the second handler's
    colleague_id: uuid.UUID
    colleague_headers: dict[str, str]


async def second_handler(engine: AsyncEngine, directory: DemoDirectory, config: IdentityConfig) -> uuid.UUID:
    handler = directory.account("complaints.handler")
    async with AsyncSession(engine, expire_on_commit=False) as session:
        template = await session.get(User, handler.user_id)
        assert template is not None
        user = User(
            username="complaints.handler2",
            display_name="Zweite Sachbearbeitung",
            unit_id=template.unit_id,
            password_hash=template.password_hash,
        )
        session.add(user)
        await session.flush()
        session.add(RoleAssignment(user_id=user.id, role=Role.COMPLAINTS_HANDLER.value))
        await session.commit()
        return user.id


@pytest.fixture
async def office(
    client: Client,
    engine: AsyncEngine,
    auth_headers: AuthHeaders,
    demo_directory: DemoDirectory,
    identity_config: IdentityConfig,
    complaints_clock: FakeClock,
) -> Office:
    dresden = str(demo_directory.unit("rev-dresden-nord").id)
    leipzig = str(demo_directory.unit("rev-leipzig-zentrum").id)
    handler = await auth_headers("complaints.handler")
    lead = await auth_headers("complaints.lead")
    paused = (await submit(client, anonymous_payload(police_unit_id=dresden)))["reference"]
    paused_id = await assigned_to_handler(client, auth_headers, demo_directory, paused)
    await client.post(f"{OFFICE}/{paused_id}/triage", json={"complete": True}, headers=handler)
    requested = await client.post(
        f"{OFFICE}/{paused_id}/statement-requests", json={"question": QUESTION}, headers=handler
    )
    assert requested.status_code == 201, requested.text
    complaints_clock.advance(days=1)  # Tuesday 24 November
    free = (await submit(client, named_payload(category="traffic_policing")))["reference"]
    complaints_clock.advance(minutes=5)
    entered = await client.post(
        OFFICE,
        json=anonymous_payload(channel="letter", category="other", police_unit_id=leipzig),
        headers=lead,
    )
    assert entered.status_code == 201, entered.text
    complaints_clock.advance(days=1)  # Wednesday 25 November
    colleague_id = await second_handler(engine, demo_directory, identity_config)
    colleague = (await submit(client))["reference"]
    found = await complaint_id(client, auth_headers, colleague)
    assigned = await client.post(
        f"{OFFICE}/{found}/assign", json={"assignee_id": str(colleague_id)}, headers=lead
    )
    assert assigned.status_code == 200, assigned.text
    token = await mint_token(engine, colleague_id, identity_config)
    return Office(
        paused,
        free,
        entered.json()["reference"],
        colleague,
        colleague_id,
        {"Authorization": f"Bearer {token}"},
    )


async def references(client: Client, headers: dict[str, str], **params: Any) -> list[str]:
    response = await client.get(OFFICE, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return [item["reference"] for item in response.json()]


async def test_every_filter_narrows_the_lead_s_queue(
    client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, office: Office
) -> None:
    lead = await auth_headers("complaints.lead")
    me = demo_directory.account("complaints.lead").user_id
    # Deadline first, the paused one (no deadline) after every running deadline.
    assert await references(client, lead) == [office.free, office.letter, office.colleague, office.paused]
    assert await references(client, lead, status="statement_requested") == [office.paused]
    assert await references(client, lead, status=["received", "statement_requested"]) == [
        office.free,
        office.letter,
        office.colleague,
        office.paused,
    ]
    assert await references(client, lead, category="traffic_policing") == [office.free]
    assert await references(client, lead, channel="letter") == [office.letter]
    leipzig = demo_directory.unit("rev-leipzig-zentrum").id
    assert await references(client, lead, police_unit_id=str(leipzig)) == [office.letter]
    assert await references(client, lead, assignee="me") == [office.letter]
    assert await references(client, lead, assignee=str(me)) == [office.letter]
    assert await references(client, lead, assignee="none") == [office.free]
    assert await references(client, lead, assignee=str(office.colleague_id)) == [office.colleague]
    assert await references(client, lead, deadline="paused") == [office.paused]
    assert await references(client, lead, received_from="2026-11-24", received_until="2026-11-24") == [
        office.free,
        office.letter,
    ]
    assert await references(client, lead, received_until="2026-11-23") == [office.paused]
    assert await references(client, lead, reference=office.letter.lower()) == [office.letter]
    assert await references(client, lead, reference="BS-2025-999999") == []


async def test_deadline_filters_follow_the_office_calendar(
    client: Client, auth_headers: AuthHeaders, office: Office, complaints_clock: FakeClock
) -> None:
    lead = await auth_headers("complaints.lead")
    # Received 24 November: due 22 December (20 working days); 25 November: due 23 December.
    assert await references(client, lead, deadline="due_soon") == []
    complaints_clock.current = complaints_clock.current.replace(month=12, day=16)  # Wednesday
    assert await references(client, lead, deadline="due_soon") == [
        office.free,
        office.letter,
        office.colleague,
    ]
    complaints_clock.current = complaints_clock.current.replace(day=23)
    assert await references(client, lead, deadline="overdue") == [office.free, office.letter]
    assert await references(client, lead, overdue="true") == [office.free, office.letter]
    assert await references(client, lead, deadline="due_soon") == [office.colleague]


async def test_pages_follow_the_link_header_without_gaps_or_repeats(
    client: Client, auth_headers: AuthHeaders, office: Office
) -> None:
    lead = await auth_headers("complaints.lead")
    whole = await references(client, lead)
    seen: list[str] = []
    url: str | None = f"{OFFICE}?limit=2&status=received&status=statement_requested"
    pages = 0
    while url is not None:
        response = await client.get(url, headers=lead)
        assert response.status_code == 200, response.text
        assert len(response.json()) <= 2
        seen += [item["reference"] for item in response.json()]
        pages += 1
        link = response.headers.get("link")
        url = link.split(">")[0].lstrip("<") if link else None
        if url is not None:
            assert link.endswith('rel="next"')
            assert "status=received" in url
            assert "limit=2" in url
    assert (pages, seen) == (2, whole)


BAD_QUERIES = [
    {"status": "bogus"},
    {"category": "nothing"},
    {"channel": "pigeon"},
    {"police_unit_id": "not-a-uuid"},
    {"assignee": "somebody"},
    {"deadline": "tomorrow"},
    {"deadline": "paused", "overdue": "true"},
    {"received_from": "2026-13-01"},
    {"received_from": "2026-11-25", "received_until": "2026-11-24"},
    {"reference": "XY-12"},
    {"after": "not a cursor"},
    {"after": base64.urlsafe_b64encode(b'["x"]').decode()},
    {"limit": "0"},
    {"limit": "201"},
]


@pytest.mark.parametrize("params", BAD_QUERIES, ids=lambda params: "&".join(params))
async def test_every_bad_filter_value_is_a_problem_not_a_failure(
    client: Client, auth_headers: AuthHeaders, params: dict[str, str]
) -> None:
    lead = await auth_headers("complaints.lead")
    for path in (OFFICE, f"{OFFICE}/export.csv"):
        if path.endswith(".csv") and ("after" in params or "limit" in params):
            continue
        status, _ = problem(await client.get(path, headers=lead, params=params))
        assert 400 <= status < 500, (path, params)


async def test_a_handler_never_reaches_a_colleague_s_complaint_through_a_filter_cursor_or_step(
    client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, office: Office
) -> None:
    handler = await auth_headers("complaints.handler")
    # Theirs and the free one; never the lead's or the colleague's.
    assert await references(client, handler) == [office.free, office.paused]
    assert await references(client, handler, assignee=str(office.colleague_id)) == []
    assert await references(client, handler, reference=office.colleague) == []
    assert await references(client, handler, reference=office.letter) == []
    assert await references(client, handler, assignee="none") == [office.free]
    assert await references(client, handler, assignee="me") == [office.paused]
    # A cursor made up to start before everything still lists only the handler's scope.
    start = base64.urlsafe_b64encode(
        json.dumps(["0001-01-01", "0001-01-01T00:00:00+00:00", str(uuid.UUID(int=0))]).encode()
    ).decode()
    assert await references(client, handler, after=start) == [office.free, office.paused]
    assert await references(client, office.colleague_headers) == [office.free, office.colleague]
    colleague_case = await complaint_id(client, auth_headers, office.colleague)
    for path in (f"{OFFICE}/{colleague_case}", f"{OFFICE}/{colleague_case}/take"):
        method = "POST" if path.endswith("take") else "GET"
        response = await client.request(method, path, headers=handler)
        assert problem(response) == (404, "complaint.not_found"), path
    # Export and workload are the lead's.
    for path in (f"{OFFICE}/export.csv", f"{OFFICE}/workload"):
        assert problem(await client.get(path, headers=handler)) == (403, "auth.forbidden")


@pytest.mark.parametrize(
    "who", ["officer.dresden", "supervisor.dresden", "branchlead.leipzig", "auditor.sachsen"]
)
async def test_other_roles_reach_no_list_of_the_office(
    client: Client, auth_headers: AuthHeaders, who: str
) -> None:
    headers = await auth_headers(who)
    for path in (OFFICE, f"{OFFICE}/export.csv", f"{OFFICE}/workload", f"{OFFICE}?assignee=none"):
        assert problem(await client.get(path, headers=headers)) == (403, "auth.forbidden"), path


async def test_a_handler_takes_a_free_complaint_and_only_then_reads_it(
    client: Client,
    engine: AsyncEngine,
    auth_headers: AuthHeaders,
    demo_directory: DemoDirectory,
    office: Office,
) -> None:
    handler = await auth_headers("complaints.handler")
    free = await complaint_id(client, auth_headers, office.free)
    assert problem(await client.get(f"{OFFICE}/{free}", headers=handler)) == (404, "complaint.not_found")
    taken = await client.post(f"{OFFICE}/{free}/take", headers=handler)
    assert taken.status_code == 200, taken.text
    me = str(demo_directory.account("complaints.handler").user_id)
    assert taken.json()["assignee_id"] == me
    detail = await client.get(f"{OFFICE}/{free}", headers=handler)
    assert detail.status_code == 200
    assert detail.json()["description"] == DESCRIPTION
    [event_] = [e for e in await audit_events(engine, "complaint:complaint:assign") if e.target_id == free]
    assert json.loads(str(event_.details)) == {"assignee_id": me, "previous_assignee_id": None, "taken": True}
    # Taken: gone from the colleague's free list, and not theirs to take any more.
    assert await references(client, office.colleague_headers, assignee="none") == []
    assert problem(await client.post(f"{OFFICE}/{free}/take", headers=office.colleague_headers)) == (
        404,
        "complaint.not_found",
    )
    # Taking it again changes nothing; the lead moves a held complaint by assigning, not by taking.
    assert (await client.post(f"{OFFICE}/{free}/take", headers=handler)).status_code == 200
    lead = await auth_headers("complaints.lead")
    assert problem(await client.post(f"{OFFICE}/{free}/take", headers=lead)) == (
        409,
        "complaint.already_assigned",
    )


async def test_the_lead_sees_the_workload_per_member_in_one_grouped_query(
    client: Client,
    auth_headers: AuthHeaders,
    demo_directory: DemoDirectory,
    office: Office,
    complaints_clock: FakeClock,
) -> None:
    lead = await auth_headers("complaints.lead")
    complaints_clock.current = complaints_clock.current.replace(month=12, day=23)
    response = await client.get(f"{OFFICE}/workload", headers=lead)
    assert response.status_code == 200, response.text
    rows = {
        (row["assignee_id"], row["name"]): (row["open"], row["overdue"], row["due_soon"])
        for row in response.json()
    }
    handler = demo_directory.account("complaints.handler").user_id
    lead_id = demo_directory.account("complaints.lead").user_id
    assert rows == {
        (str(handler), "Demo Sachbearbeitung Beschwerden"): (1, 0, 0),  # paused
        (str(lead_id), "Demo Leitung Beschwerdestelle"): (1, 1, 0),
        (str(office.colleague_id), "Zweite Sachbearbeitung"): (1, 0, 1),
        (None, None): (1, 1, 0),
    }


async def test_the_export_carries_list_columns_only_and_is_audited_without_values(
    client: Client, engine: AsyncEngine, auth_headers: AuthHeaders, office: Office
) -> None:
    lead = await auth_headers("complaints.lead")
    response = await client.get(
        f"{OFFICE}/export.csv", headers=lead, params={"status": "received", "reference": office.free}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0][0] == "Aktenzeichen"
    assert [row[0] for row in rows[1:]] == [office.free]
    assert rows[1][2:5] == ["Online-Formular", "verkehrspolizeiliche Arbeit", "eingegangen"]
    assert NAME not in response.text
    assert DESCRIPTION not in response.text
    [exported] = await audit_events(engine, "complaint:complaint:export")
    assert json.loads(str(exported.details)) == {"filters": ["statuses", "reference"], "rows": 1}
    assert office.free not in json.dumps(exported.details)


async def test_a_unit_pages_and_filters_its_statement_requests_only(
    client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, complaints_clock: FakeClock
) -> None:
    handler = await auth_headers("complaints.handler")
    supervisor = await auth_headers("supervisor.dresden")
    dresden = str(demo_directory.unit("rev-dresden-nord").id)
    leipzig = str(demo_directory.unit("rev-leipzig-zentrum").id)
    for _ in range(3):
        reference = (await submit(client, anonymous_payload(police_unit_id=dresden)))["reference"]
        found = await assigned_to_handler(client, auth_headers, demo_directory, reference)
        await client.post(f"{OFFICE}/{found}/triage", json={"complete": True}, headers=handler)
        for unit in (dresden, leipzig):
            asked = await client.post(
                f"{OFFICE}/{found}/statement-requests",
                json={"question": QUESTION, "unit_id": unit},
                headers=handler,
            )
            assert asked.status_code == 201, asked.text
        complaints_clock.advance(days=1)
    first = await client.get(STATEMENTS, headers=supervisor, params={"limit": 2})
    assert len(first.json()) == 2
    next_url = first.headers["link"].split(">")[0].lstrip("<")
    second = await client.get(next_url, headers=supervisor)
    assert len(second.json()) == 1
    assert "link" not in second.headers
    listed = first.json() + second.json()
    assert [item["deadline"] for item in listed] == sorted(item["deadline"] for item in listed)
    answer = await client.post(
        f"{STATEMENTS}/{listed[0]['id']}/statement", json={"answer": "x"}, headers=supervisor
    )
    assert answer.status_code == 200, answer.text
    assert len((await client.get(STATEMENTS, headers=supervisor, params={"status": "open"})).json()) == 2
    assert [
        item["id"]
        for item in (await client.get(STATEMENTS, headers=supervisor, params={"status": "answered"})).json()
    ] == [listed[0]["id"]]
    assert (await client.get(STATEMENTS, headers=supervisor, params={"overdue": "true"})).json() == []
    complaints_clock.advance(days=30)
    assert len((await client.get(STATEMENTS, headers=supervisor, params={"overdue": "true"})).json()) == 2
    for params in (
        {"status": "x"},
        {"after": "garbage"},
        {"limit": "500"},
        {"open_only": "true", "status": "answered"},
    ):
        status, _ = problem(await client.get(STATEMENTS, headers=supervisor, params=params))
        assert 400 <= status < 500, params


@pytest.fixture
def statements_run() -> Iterator[list[str]]:
    seen: list[str] = []

    def capture(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(Engine, "before_cursor_execute", capture)
    yield seen
    event.remove(Engine, "before_cursor_execute", capture)


async def test_a_list_page_costs_the_same_statements_for_3_and_30_rows(
    client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, statements_run: list[str]
) -> None:
    lead = await auth_headers("complaints.lead")
    supervisor = await auth_headers("supervisor.dresden")
    dresden = str(demo_directory.unit("rev-dresden-nord").id)
    counts = []
    made = 0
    for wanted in (3, 30):
        while made < wanted:
            reference = (await submit(client, anonymous_payload(police_unit_id=dresden)))["reference"]
            found = await complaint_id(client, auth_headers, reference)
            await client.post(f"{OFFICE}/{found}/triage", json={"complete": True}, headers=lead)
            await client.post(
                f"{OFFICE}/{found}/statement-requests", json={"question": QUESTION}, headers=lead
            )
            made += 1
        measured = []
        for path, headers in ((OFFICE, lead), (STATEMENTS, supervisor)):
            await client.get(path, headers=headers)  # a token's first use records it: not the list's cost
            statements_run.clear()
            response = await client.get(path, headers=headers)
            assert len(response.json()) == wanted
            measured.append(len(statements_run))
        counts.append(measured)
    assert counts[0] == counts[1]
