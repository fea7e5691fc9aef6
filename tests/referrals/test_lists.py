"""The referral list of the API: filters, keyset paging, case number search, CSV export, the state
office's sight of routed cases; every query inside the caller's scope, on both engines."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from referral_service.audit.models import AuditEvent
from referral_service.referrals.models import Referral
from referral_service.referrals.policy import ReferralPolicy, deadline_state
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock
from tests.referrals.support import CASE_NUMBER, SECRET_VALUES, submit

Client = AsyncTestClient[Litestar]
API = "/api/v1/referrals"
DRESDEN = {"who": "officer.dresden", "postcode": "01099"}
LEIPZIG = {"who": "officer.leipzig", "postcode": "04109"}


async def _ids(client: Client, headers: dict[str, str], **params: Any) -> list[str]:
    response = await client.get(API, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()]


async def _events(engine: AsyncEngine, action: str) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        rows = (await connection.execute(select(AuditEvent.details).where(AuditEvent.action == action))).all()
    return [json.loads(row[0]) for row in rows]


async def test_pages_follow_the_link_header_newest_first_without_gaps_or_repeats(
    client: Client, auth_headers: AuthHeaders, routed: DemoDirectory, referral_clock: FakeClock
) -> None:
    created = []
    for _ in range(5):
        created.append((await submit(client, auth_headers, **DRESDEN))["id"])
        referral_clock.advance(minutes=1)
    headers = await auth_headers("officer.dresden")
    seen: list[str] = []
    url: str | None = f"{API}?limit=2"
    while url:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200
        assert len(response.json()) <= 2
        seen += [item["id"] for item in response.json()]
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
        assert link is None or 'rel="next"' in link
    assert seen == list(reversed(created))


@pytest.mark.parametrize(
    "params",
    [
        {"status": "nonsense"},
        {"offence_category": "x"},
        {"urgency": "extreme"},
        {"deadline": "yesterday"},
        {"branch_id": "not-a-uuid"},
        {"assignee": "someone"},
        {"submitted_from": "2026-02-30"},
        {"submitted_from": "2026-03-02", "submitted_until": "2026-03-01"},
        {"reference": "XX-2026-1"},
        {"after": "%%%"},
        {"after": "WzEsMl0"},  # a cursor of another shape
        {"limit": "0"},
        {"limit": "201"},
        {"routed": "maybe"},
    ],
)
async def test_a_bad_filter_value_is_a_problem_document_never_a_500(
    client: Client, auth_headers: AuthHeaders, routed: DemoDirectory, params: dict[str, str]
) -> None:
    response = await client.get(API, params=params, headers=await auth_headers("branchlead.dresden"))
    assert response.status_code in {400, 422}, (params, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"]


async def test_filters_narrow_the_list(
    client: Client, auth_headers: AuthHeaders, routed: DemoDirectory, referral_clock: FakeClock
) -> None:
    robbery = await submit(client, auth_headers, **DRESDEN, offence_category="robbery", urgency="normal")
    referral_clock.advance(hours=30)
    harm = await submit(client, auth_headers, **DRESDEN)
    lead = await auth_headers("branchlead.dresden")
    volunteer = await auth_headers("volunteer.dresden")
    await client.post(f"{API}/{harm['id']}/accept", headers=volunteer)
    both = {robbery["id"], harm["id"]}
    assert set(await _ids(client, lead)) == both
    assert await _ids(client, lead, offence_category="robbery") == [robbery["id"]]
    assert await _ids(client, lead, urgency="high") == [harm["id"]]
    assert await _ids(client, lead, status="accepted") == [harm["id"]]
    assert set(await _ids(client, lead, status=["accepted", "submitted"])) == both
    assert await _ids(client, lead, assignee="none") == [robbery["id"]]
    assert await _ids(client, volunteer, assignee="me") == [harm["id"]]
    volunteer_id = str(routed.account("volunteer.dresden").user_id)
    assert await _ids(client, lead, assignee=volunteer_id) == [harm["id"]]
    assert await _ids(client, lead, deadline="overdue") == [robbery["id"]]  # not accepted in 24 hours
    assert await _ids(client, lead, deadline="running") == [harm["id"]]
    assert await _ids(client, lead, reference=robbery["reference"]) == [robbery["id"]]
    assert await _ids(client, lead, reference=robbery["reference"][3:]) == [robbery["id"]]  # no prefix
    assert set(await _ids(client, lead, branch_id=str(routed.unit("wr-dresden").id))) == both
    assert await _ids(client, lead, branch_id=str(routed.unit("wr-leipzig").id)) == []
    today = referral_clock.now().date().isoformat()
    assert await _ids(client, lead, submitted_from=today, submitted_until=today) in (
        [harm["id"]],
        sorted(both),
    )
    assert await _ids(client, lead, submitted_until="2000-01-01") == []


async def test_the_deadline_filter_in_sql_agrees_with_the_rows_deadline_state(
    client: Client,
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    referral_clock: FakeClock,
    referral_policy: ReferralPolicy,
    engine: AsyncEngine,
) -> None:
    await submit(client, auth_headers, **DRESDEN)
    referral_clock.advance(hours=14)  # accept deadline (24 h) due within 12 hours
    await submit(client, auth_headers, **DRESDEN)
    referral_clock.advance(hours=13)  # the first is overdue now, the second due within 11 hours
    await submit(client, auth_headers, **DRESDEN)  # running
    lead = await auth_headers("branchlead.dresden")
    rows = (await client.get(API, headers=lead)).json()
    assert sorted(row["deadline_state"] for row in rows) == ["due_soon", "overdue", "running"]
    for row in rows:
        assert await _ids(client, lead, deadline=row["deadline_state"]) == [row["id"]]
    assert await _ids(client, lead, deadline="none") == []
    async with AsyncSession(engine) as session:
        for referral in (await session.execute(select(Referral))).scalars():
            state = deadline_state(referral, referral_policy, referral_clock.now())
            assert [r["deadline_state"] for r in rows if r["id"] == str(referral.id)] == [state.value]


@pytest.mark.parametrize(
    "who", ["officer.leipzig", "volunteer.leipzig", "branchlead.leipzig", "stateoffice.sachsen"]
)
async def test_no_filter_search_or_export_reaches_another_units_referrals(
    client: Client, auth_headers: AuthHeaders, routed: DemoDirectory, who: str
) -> None:
    dresden = await submit(client, auth_headers, **DRESDEN)
    await client.post(f"{API}/{dresden['id']}/accept", headers=await auth_headers("volunteer.dresden"))
    own = await submit(client, auth_headers, **LEIPZIG)
    headers = await auth_headers(who)
    volunteer_id = str(routed.account("volunteer.dresden").user_id)
    for params in (
        {},
        {"reference": dresden["reference"]},
        {"status": "accepted"},
        {"offence_category": "bodily_harm"},
        {"urgency": "high"},
        {"branch_id": str(routed.unit("wr-dresden").id)},
        {"assignee": volunteer_id},
        {"assignee": "none"},
        {"deadline": "running"},
        {"submitted_from": "2000-01-01"},
        {"routed": "true"},
        {"routed": "false"},
    ):
        listed = await client.get(API, params=params, headers=headers)
        assert listed.status_code == 200, (who, params)
        assert dresden["id"] not in listed.text, (who, params)
        exported = await client.get(f"{API}/export.csv", params=params, headers=headers)
        assert exported.status_code in {200, 403}, (who, params)
        assert dresden["reference"] not in exported.text, (who, params)
    found = await client.post(f"{API}/search", json={"case_number": CASE_NUMBER}, headers=headers)
    assert found.status_code == 200
    assert dresden["id"] not in found.text
    if who in ("officer.leipzig", "branchlead.leipzig"):
        assert [item["id"] for item in found.json()] == [own["id"]]


async def test_the_case_number_search_finds_by_blind_index_inside_the_station(
    client: Client, auth_headers: AuthHeaders, routed: DemoDirectory
) -> None:
    wanted = await submit(client, auth_headers, **DRESDEN)
    await submit(client, auth_headers, **DRESDEN, case_number="DD-0815/26-X")
    headers = await auth_headers("supervisor.dresden")
    # Written differently (case, spaces): the blind index normalises like intake does.
    for typed in (CASE_NUMBER, CASE_NUMBER.lower(), f"  {CASE_NUMBER} "):
        found = await client.post(f"{API}/search", json={"case_number": typed}, headers=headers)
        assert found.status_code == 200, found.text
        assert [item["id"] for item in found.json()] == [wanted["id"]], typed
    assert (
        await client.post(f"{API}/search", json={"case_number": "XY"}, headers=headers)
    ).status_code == 422
    assert (await client.post(f"{API}/search", json={}, headers=headers)).status_code == 422


async def test_the_export_is_the_filtered_list_as_csv_and_is_audited_without_values(
    client: Client, auth_headers: AuthHeaders, routed: DemoDirectory, engine: AsyncEngine
) -> None:
    first = await submit(client, auth_headers, **DRESDEN, offence_category="robbery")
    await submit(client, auth_headers, **DRESDEN)
    await client.post(f"{API}/{first['id']}/accept", headers=await auth_headers("volunteer.dresden"))
    lead = await auth_headers("branchlead.dresden")
    response = await client.get(f"{API}/export.csv", params={"offence_category": "robbery"}, headers=lead)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0] == [
        "reference",
        "submitted_at",
        "status",
        "offence_category",
        "urgency",
        "deadline_state",
        "branch",
        "assignee",
        "language",
        "interpreter_needed",
    ]
    assert [row[0] for row in rows[1:]] == [first["reference"]]
    assert rows[1][6] == "Demo-Außenstelle Dresden" or rows[1][6]  # the branch by name
    assert rows[1][7] == "Demo Ehrenamt Dresden"
    for secret in SECRET_VALUES:
        assert secret not in response.text
    [details] = await _events(engine, "referral:referral:list_export")
    assert details == {"filters": ["offence_category"], "rows": 1}
    # Police officers and volunteers may not export.
    for who in ("officer.dresden", "volunteer.dresden"):
        refused = await client.get(f"{API}/export.csv", headers=await auth_headers(who))
        assert refused.status_code == 403


async def test_the_state_office_keeps_read_only_sight_of_what_it_routed(
    client: Client, auth_headers: AuthHeaders, routed: DemoDirectory
) -> None:
    unrouted = await submit(client, auth_headers, **DRESDEN | {"postcode": "99999"})
    state = await auth_headers("stateoffice.sachsen")
    queue = (await client.get(API, params={"routed": "false"}, headers=state)).json()
    assert [(item["id"], item["queue_reason"]) for item in queue] == [(unrouted["id"], "no_branch")]
    branch = str(routed.unit("wr-dresden").id)
    assert (
        await client.post(f"{API}/{unrouted['id']}/route", json={"branch_id": branch}, headers=state)
    ).status_code == 200
    assert await _ids(client, state, routed="false") == []
    [item] = (await client.get(API, params={"routed": "true"}, headers=state)).json()
    assert (item["id"], item["queue_reason"], item["routed_at"] is not None) == (unrouted["id"], None, True)
    read = await client.get(f"{API}/{unrouted['id']}", headers=state)
    assert read.status_code == 200
    for secret in SECRET_VALUES:
        assert secret not in read.text
    # Every step is refused as for a case out of scope; routing again too, while the branch has it.
    for path, body in (
        ("/route", {"branch_id": str(routed.unit("wr-leipzig").id)}),
        ("/decline", {"reason": "no_capacity"}),
        ("/withdraw-consent", None),
        ("/accept", None),
    ):
        response = await client.post(f"{API}/{unrouted['id']}{path}", json=body, headers=state)
        assert response.status_code in {403, 404}, (path, response.status_code)
    # Declined by the branch: back in the queue, with the reason, and workable again.
    await client.post(
        f"{API}/{unrouted['id']}/decline",
        json={"reason": "no_capacity"},
        headers=await auth_headers("branchlead.dresden"),
    )
    [back] = (await client.get(API, params={"routed": "false"}, headers=state)).json()
    assert (back["queue_reason"], back["decline_reason"]) == ("declined", "no_capacity")
    assert back["declined_by_branch_id"] == branch


@pytest.mark.parametrize("who", ["officer.dresden", "branchlead.dresden"])
async def test_a_list_page_costs_the_same_statements_for_3_rows_as_for_30(
    client: Client, auth_headers: AuthHeaders, routed: DemoDirectory, app: Litestar, who: str
) -> None:
    headers = await auth_headers(who)
    engine: AsyncEngine = app.state.engine
    statements: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        # The caller's token bookkeeping (last use, now and then) is not the list's.
        if "api_tokens" not in statement:
            statements.append(statement)

    async def count() -> int:
        statements.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        try:
            assert (await client.get(API, params={"limit": 50}, headers=headers)).status_code == 200
            assert (await client.get(f"{API}/export.csv", headers=headers)).status_code in {200, 403}
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", capture)
        return len(statements)

    for _ in range(3):
        await submit(client, auth_headers, **DRESDEN)
    few = await count()
    for _ in range(27):
        await submit(client, auth_headers, **DRESDEN)
    assert len(await _ids(client, headers, limit=50)) == 30
    many = await count()
    assert many == few, "\n".join(statements)
