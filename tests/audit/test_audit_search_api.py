"""The auditor API's readable search: by user name, outcome and known actions, every bad value a 422
problem, and the CSV export (auditors only, capped, formula-guarded, itself recorded)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service import listing
from referral_service.identity.roles import Role
from tests.audit.test_event_search import event, insert_events
from tests.identity.support import AuthHeaders, DemoDirectory

Client = AsyncTestClient[Litestar]
EVENTS = "/api/v1/audit/events"
EXPORT = "/api/v1/audit/events/export.csv"


@pytest.fixture
async def officer_events(engine: AsyncEngine, demo_directory: DemoDirectory) -> DemoDirectory:
    """Three events of the demo police officer (one denied, one with a formula as target id) and two of
    somebody else."""
    officer = demo_directory.account(Role.POLICE_OFFICER)
    mine = {"actor_id": str(officer.user_id), "actor_unit_id": str(officer.unit.id)}
    await insert_events(
        engine,
        [
            event(0, **mine),
            event(1, actor_id="someone-else"),
            event(2, **mine, outcome="denied", action="identity:access:denied"),
            event(3, actor_id="someone-else"),
            event(4, **mine, target_id="=HYPERLINK(1)"),
        ],
    )
    return demo_directory


async def test_events_are_found_by_user_name_in_any_case(
    client: Client, officer_events: DemoDirectory, auth_headers: AuthHeaders
) -> None:
    officer = officer_events.account(Role.POLICE_OFFICER)
    headers = await auth_headers(Role.AUDITOR)
    found = await client.get(EVENTS, params={"actor": officer.username.upper()}, headers=headers)
    assert found.status_code == 200, found.text
    assert [e["target_id"] for e in found.json()["events"]] == ["=HYPERLINK(1)", "t-2", "t-0"]
    assert {e["actor_id"] for e in found.json()["events"]} == {str(officer.user_id)}
    denied = await client.get(
        EVENTS, params={"actor": officer.username, "outcome": "denied"}, headers=headers
    )
    assert [e["target_id"] for e in denied.json()["events"]] == ["t-2"]
    # A user name and another user's id together: nobody's events, not either's.
    both = await client.get(
        EVENTS, params={"actor": officer.username, "actor_id": "someone-else"}, headers=headers
    )
    assert both.status_code == 200
    assert both.json()["events"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"actor": "nobody.here"}, "actor"),
        ({"action": "referral:referral:fly"}, "action"),
        ({"action": "identity:\x00"}, "action"),
        ({"outcome": "maybe"}, "outcome"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"after": "not base64!"}, "after"),
        ({"after": "x" * 201}, "after"),
        ({"after": "WzFd", "after_id": "3"}, "after_id"),
        ({"since": "yesterday"}, "since"),
        ({"target_id": "a" * 65}, "target_id"),
    ],
)
async def test_every_bad_value_is_a_problem_naming_its_parameter(
    client: Client,
    officer_events: DemoDirectory,
    auth_headers: AuthHeaders,
    params: dict[str, str],
    field: str,
) -> None:
    response = await client.get(EVENTS, params=params, headers=await auth_headers(Role.AUDITOR))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [error["field"] for error in response.json()["errors"]] == [field]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"after": "WzFd"}, "list.cursor_invalid"),  # a cursor of another list: [1]
        ({"since": "2026-03-02T00:00:00", "until": "2026-03-01T00:00:00"}, "list.range_invalid"),
    ],
)
async def test_a_wrong_cursor_or_range_is_a_problem_of_its_own(
    client: Client,
    officer_events: DemoDirectory,
    auth_headers: AuthHeaders,
    params: dict[str, str],
    code: str,
) -> None:
    for path in (EVENTS, EXPORT) if "after" not in params else (EVENTS,):
        response = await client.get(path, params=params, headers=await auth_headers(Role.AUDITOR))
        assert response.status_code == 422, response.text
        assert response.json()["code"] == code


def _rows(response: object) -> list[list[str]]:
    body = response.text  # type: ignore[attr-defined]
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


async def test_the_export_holds_the_list_columns_and_is_recorded(
    client: Client, engine: AsyncEngine, officer_events: DemoDirectory, auth_headers: AuthHeaders
) -> None:
    officer = officer_events.account(Role.POLICE_OFFICER)
    response = await client.get(
        EXPORT, params={"actor": officer.username}, headers=await auth_headers(Role.AUDITOR)
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == listing.CSV_MEDIA_TYPE
    assert response.headers["content-disposition"] == 'attachment; filename="audit-events.csv"'
    assert officer.username not in response.headers["content-disposition"]
    header, *rows = _rows(response)
    assert header == [
        "Position",
        "Ereignis-Nr.",
        "Zeit",
        "Aktion (Code)",
        "Aktion",
        "Ergebnis",
        "Anmeldename",
        "Name",
        "Rollen",
        "Organisationseinheit",
        "Art des Ziels",
        "Kennung des Ziels",
        "Anfrage-Kennung",
    ]
    # Newest first; a cell that a spreadsheet would run as a formula is quoted.
    assert [row[11] for row in rows] == ["'=HYPERLINK(1)", "t-2", "t-0"]
    denied = rows[1]
    assert denied[3:7] == ["identity:access:denied", "Zugriff verweigert", "verweigert", officer.username]
    assert denied[2] == "2026-03-10 15:00"  # local time (CET) of 14:00 UTC
    assert denied[8] == "Polizei: Sachbearbeitung"
    assert denied[9] not in ("", str(officer.unit.id))  # the unit's name
    assert denied[12] == "req-2"
    async with engine.connect() as connection:
        details = (
            await connection.execute(
                text("SELECT details FROM audit_events WHERE action = 'audit:event:export'")
            )
        ).scalar_one()
    assert json.loads(details) == {"filtered_by": ["actor_ids"], "returned": 3}
    assert officer.username not in details


async def test_an_export_above_the_limit_is_refused(
    client: Client, officer_events: DemoDirectory, auth_headers: AuthHeaders, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "EXPORT_LIMIT", 2)
    response = await client.get(EXPORT, headers=await auth_headers(Role.AUDITOR))
    assert response.status_code == 422
    assert response.json()["code"] == "list.export_too_large"


@pytest.mark.parametrize("role", [role for role in Role if role is not Role.AUDITOR])
async def test_only_the_auditor_searches_and_exports(
    client: Client, demo_directory: DemoDirectory, auth_headers: AuthHeaders, role: Role
) -> None:
    headers = await auth_headers(role)
    assert (await client.get(EVENTS, headers=headers)).status_code == 403
    assert (await client.get(EXPORT, headers=headers)).status_code == 403


async def test_nobody_unauthenticated_exports(client: Client) -> None:
    assert (await client.get(EXPORT)).status_code == 401


async def test_the_contract_documents_the_new_parameters_and_the_link_header(client: Client) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    listed = doc["paths"][EVENTS]["get"]
    names = {parameter["name"] for parameter in listed["parameters"]}
    assert {"actor", "actor_id", "action", "outcome", "after", "after_id", "limit", "since", "until"} <= names
    assert "Link" in listed["responses"]["200"]["headers"]
    export = doc["paths"][EXPORT]["get"]
    assert "text/csv" in next(iter(export["responses"]["200"]["content"]))
    assert {"403", "422"} <= set(export["responses"])
