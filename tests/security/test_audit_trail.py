"""Sign-ins, refusals and denials leave audit events; no secret ever reaches the audit log or a log line."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.audit.models import AuditEvent
from referral_service.identity import totp
from referral_service.identity.roles import Role
from tests.identity.support import DemoDirectory, FakeClock

LOGIN = "/api/v1/auth/login"
TOKEN = "/api/v1/auth/token"
Client = AsyncTestClient[Litestar]

# Recognisable values: if any of them shows up in a table or a log, something leaked.
WRONG_PASSWORD = "Zebra-Seed-Password-4711"
NEW_PASSWORD = "Quokka-New-Password-0815"


async def audit_events(engine: AsyncEngine, action: str | None = None) -> list[dict[str, Any]]:
    stmt = select(AuditEvent)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)  # type: ignore[arg-type]
    async with engine.connect() as connection:
        rows = (await connection.execute(stmt.order_by(AuditEvent.id))).mappings().all()  # type: ignore[arg-type]
    return [dict(row) | {"details": json.loads(row["details"])} for row in rows]


async def test_failed_sign_in_is_audited_although_the_request_fails(
    https_client: Client, demo_directory: DemoDirectory, engine: AsyncEngine
) -> None:
    officer = demo_directory.account(Role.POLICE_OFFICER)
    response = await https_client.post(LOGIN, json={"username": officer.username, "password": WRONG_PASSWORD})
    assert response.status_code == 401
    unknown = await https_client.post(LOGIN, json={"username": "nobody.here", "password": WRONG_PASSWORD})
    assert unknown.status_code == 401

    events = await audit_events(engine, "identity:session:login")
    assert [(e["outcome"], e["details"]["reason"]) for e in events] == [
        ("failure", "bad_password"),
        ("failure", "unknown_user"),
    ]
    assert events[0]["target_type"] == "user"
    assert events[0]["target_id"] == str(officer.user_id)
    assert events[1]["target_id"] is None  # the typed name is never stored: it may be a password
    assert events[0]["actor_kind"] == "anonymous"
    assert events[0]["request_id"] == response.headers["x-request-id"]
    assert events[0]["client_hash"]


async def test_successful_sign_in_and_token_issue_are_audited(
    https_client: Client, demo_directory: DemoDirectory, engine: AsyncEngine, identity_clock: FakeClock
) -> None:
    officer = demo_directory.account(Role.POLICE_OFFICER)
    assert (await https_client.post(LOGIN, json=officer.login_body())).status_code == 200
    admin = demo_directory.account(Role.ADMIN)
    assert (await https_client.post(TOKEN, json=admin.login_body(identity_clock))).status_code == 200

    login = (await audit_events(engine, "identity:session:login"))[-1]
    assert (login["outcome"], login["actor_id"], login["actor_roles"]) == (
        "success",
        str(officer.user_id),
        "police_officer",
    )
    assert login["actor_unit_id"] == str(officer.unit.id)
    assert login["target_type"] == "session"
    issue = (await audit_events(engine, "identity:token:issue"))[-1]
    assert (issue["outcome"], issue["actor_id"], issue["target_type"]) == (
        "success",
        str(admin.user_id),
        "api_token",
    )


async def test_denied_access_is_audited_with_permission_and_route(
    https_client: Client, demo_directory: DemoDirectory, engine: AsyncEngine, auth_headers: Any
) -> None:
    volunteer = demo_directory.account(Role.WR_VOLUNTEER)
    some_user = demo_directory.account(Role.POLICE_OFFICER).user_id
    forbidden = await https_client.get(
        f"/api/v1/users/{some_user}", headers=await auth_headers(Role.WR_VOLUNTEER)
    )
    assert forbidden.status_code == 403
    anonymous = await https_client.get("/api/v1/users")
    assert anonymous.status_code == 401
    invalid = await https_client.get("/api/v1/users", headers={"Authorization": "Bearer rst_made-up"})
    assert invalid.status_code == 401

    events = await audit_events(engine, "identity:access:denied")
    assert [(e["outcome"], e["details"]["reason"]) for e in events] == [
        ("denied", "forbidden"),
        ("denied", "unauthenticated"),
        ("denied", "invalid_credential"),
    ]
    assert events[0]["details"] == {
        "method": "GET",
        "permission": "identity:user:read",
        "reason": "forbidden",
        "route": "/api/v1/users/:user_id",
    }
    assert events[0]["actor_id"] == str(volunteer.user_id)
    assert events[1]["actor_kind"] == "anonymous"


async def test_administration_is_audited(
    https_client: Client, demo_directory: DemoDirectory, engine: AsyncEngine, auth_headers: Any
) -> None:
    admin = await auth_headers(Role.ADMIN)
    officer = demo_directory.account("officer.leipzig")
    assert (
        await https_client.patch(f"/api/v1/users/{officer.user_id}", json={"active": False}, headers=admin)
    ).is_success
    response = await https_client.post(
        f"/api/v1/users/{officer.user_id}/reset-password", json={"password": NEW_PASSWORD}, headers=admin
    )
    assert response.status_code == 200
    actions = [e["action"] for e in await audit_events(engine) if e["target_id"] == str(officer.user_id)]
    assert actions[-2:] == ["identity:user:disable", "identity:user:reset_password"]


async def test_no_secret_reaches_the_audit_log_the_credential_tables_or_the_logs(
    https_client: Client,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    identity_clock: FakeClock,
    auth_headers: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    officer = demo_directory.account(Role.POLICE_OFFICER)
    lead = demo_directory.account(Role.COMPLAINTS_LEAD)
    secrets: list[str] = [WRONG_PASSWORD, NEW_PASSWORD, officer.password, lead.password]

    await https_client.post(LOGIN, json={"username": officer.username, "password": WRONG_PASSWORD})
    await https_client.post(LOGIN, json={"username": WRONG_PASSWORD, "password": WRONG_PASSWORD})
    started = (await https_client.post(LOGIN, json=officer.login_body())).json()
    # (The CSRF token is kept in the session row: alone it authenticates nothing, but it must stay
    # out of the audit log and the logs.)
    secrets.append(https_client.cookies.get("__Host-rs_session") or "missing-cookie")
    csrf_token = started["csrf_token"]
    code = lead.totp_code(identity_clock.now())
    issued = (await https_client.post(TOKEN, json=lead.login_body(totp_code=code))).json()
    secrets += [issued["token"], code]
    assert lead.totp_secret is not None
    secrets.append(totp.to_base32(lead.totp_secret))
    # Own credential changes and a TOTP enrolment.
    headers = {"Authorization": f"Bearer {issued['token']}"}
    enrolment = (
        await https_client.post("/api/v1/auth/totp", json={"password": lead.password}, headers=headers)
    ).json()
    secrets.append(enrolment["secret"])
    await https_client.post(
        "/api/v1/auth/password",
        json={"current_password": lead.password, "new_password": NEW_PASSWORD},
        headers=headers,
    )
    admin = await auth_headers(Role.ADMIN)
    created = await https_client.post(
        "/api/v1/users",
        json={
            "username": "new.auditor",
            "display_name": "Neue Revision",
            "unit_id": str(demo_directory.unit("sn").id),
            "roles": ["auditor"],
            "password": NEW_PASSWORD + "-x",
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    secrets += [NEW_PASSWORD + "-x", created.json()["totp"]["secret"], admin["Authorization"].split()[1]]

    dumps = []
    async with engine.connect() as connection:
        for table in ("audit_events", "login_throttle", "auth_sessions", "api_tokens", "users"):
            rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()
            dumps.append(f"{table}: " + repr(rows))
    stored = "\n".join(dumps)
    logged = capsys.readouterr()
    for secret in secrets:
        assert secret not in stored, "a secret was found in the database"
        assert secret.encode().hex() not in stored
        assert secret not in logged.out + logged.err, "a secret was found in the logs"
    assert "officer.dresden" not in stored.split("users:")[0]  # no usernames outside the users table
    audit_dump = stored.split("login_throttle:")[0]
    assert csrf_token not in audit_dump
    assert csrf_token not in logged.out + logged.err
