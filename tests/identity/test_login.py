"""Signing in and out over HTTP: cookie sessions, bearer tokens, TOTP, timeouts, rehashing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.identity import totp
from referral_service.identity.config import PasswordHashing
from referral_service.identity.models import User
from referral_service.identity.roles import Role
from referral_service.identity.tokens import SESSION_COOKIE
from tests.identity.support import DemoDirectory, FakeClock

LOGIN = "/api/v1/auth/login"
TOKEN = "/api/v1/auth/token"
ME = "/api/v1/auth/me"
LOGOUT = "/api/v1/auth/logout"

Client = AsyncTestClient[Litestar]


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def comparable(body: dict[str, Any]) -> dict[str, Any]:
    """A problem body without what differs per request."""
    return {key: value for key, value in body.items() if key not in {"request_id"}}


async def test_login_starts_a_cookie_session(https_client: Client, demo_directory: DemoDirectory) -> None:
    officer = demo_directory.account(Role.POLICE_OFFICER)
    response = await https_client.post(LOGIN, json=officer.login_body())
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["me"]["username"] == "officer.dresden"
    assert body["me"]["roles"] == ["police_officer"]
    assert body["me"]["auth_method"] == "session"
    assert body["me"]["unit"]["code"] == "rev-dresden-nord"
    assert "referral:referral:create" in body["me"]["permissions"]
    assert body["csrf_token"] == body["me"]["csrf_token"]

    me = await https_client.get(ME)
    assert me.status_code == 200
    assert me.json()["csrf_token"] == body["csrf_token"]


async def test_session_cookie_flags(https_client: Client, demo_directory: DemoDirectory) -> None:
    response = await https_client.post(LOGIN, json=demo_directory.account(Role.POLICE_OFFICER).login_body())
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith(f"{SESSION_COOKIE}=rss_")
    assert {"secure", "httponly", "path"} <= attributes
    assert "domain" not in attributes  # required by the __Host- prefix
    assert "path=/;" in cookie.lower() + ";"
    assert "samesite=strict" in cookie.lower()


async def test_wrong_password_and_unknown_user_get_the_same_answer(
    https_client: Client, demo_directory: DemoDirectory
) -> None:
    officer = demo_directory.account(Role.POLICE_OFFICER)
    wrong = await https_client.post(
        LOGIN, json={"username": officer.username, "password": "not-the-password"}
    )
    unknown = await https_client.post(LOGIN, json={"username": "nobody.here", "password": "not-the-password"})
    assert comparable(assert_problem(wrong, 401, "auth.invalid_credentials")) == comparable(
        assert_problem(unknown, 401, "auth.invalid_credentials")
    )
    assert "set-cookie" not in wrong.headers


async def test_disabled_user_cannot_sign_in(
    https_client: Client, demo_directory: DemoDirectory, auth_headers: Any
) -> None:
    officer = demo_directory.account(Role.POLICE_OFFICER)
    admin = await auth_headers(Role.ADMIN)
    assert (
        await https_client.patch(f"/api/v1/users/{officer.user_id}", json={"active": False}, headers=admin)
    ).is_success
    assert_problem(await https_client.post(LOGIN, json=officer.login_body()), 401, "auth.invalid_credentials")


async def test_totp_is_required_for_roles_that_need_it(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    admin = demo_directory.account(Role.ADMIN)
    without = await https_client.post(LOGIN, json=admin.login_body())
    assert_problem(without, 401, "auth.invalid_credentials")
    wrong = await https_client.post(LOGIN, json=admin.login_body(totp_code="000000"))
    assert_problem(wrong, 401, "auth.invalid_credentials")
    right = await https_client.post(LOGIN, json=admin.login_body(identity_clock))
    assert right.status_code == 200, right.text


async def test_replayed_totp_code_is_refused(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    auditor = demo_directory.account(Role.AUDITOR)
    body = auditor.login_body(identity_clock)
    assert (await https_client.post(TOKEN, json=body)).status_code == 200
    assert_problem(await https_client.post(TOKEN, json=body), 401, "auth.invalid_credentials")
    # The next time step brings a new code, which works.
    identity_clock.advance(seconds=30)
    assert (await https_client.post(TOKEN, json=auditor.login_body(identity_clock))).status_code == 200


async def test_totp_code_of_the_neighbouring_step_is_accepted(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    lead = demo_directory.account(Role.COMPLAINTS_LEAD)
    assert lead.totp_secret is not None
    step = totp.time_step(identity_clock.now())
    # A code from the previous step (clock drift, slow typing) is accepted ...
    previous = totp.code_at_step(lead.totp_secret, step - 1)
    assert (await https_client.post(TOKEN, json=lead.login_body(totp_code=previous))).status_code == 200
    # ... one from two steps away is not (another user, so that replay protection plays no part).
    office = demo_directory.account(Role.WR_STATE_OFFICE)
    assert office.totp_secret is not None
    too_old = totp.code_at_step(office.totp_secret, step - 2)
    response = await https_client.post(TOKEN, json=office.login_body(totp_code=too_old))
    assert_problem(response, 401, "auth.invalid_credentials")
    in_window = totp.code_at_step(office.totp_secret, step + 1)
    assert (await https_client.post(TOKEN, json=office.login_body(totp_code=in_window))).status_code == 200


async def test_bearer_token_is_issued_once_and_works(
    https_client: Client, demo_directory: DemoDirectory
) -> None:
    volunteer = demo_directory.account(Role.WR_VOLUNTEER)
    response = await https_client.post(TOKEN, json=volunteer.login_body())
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    issued = response.json()
    assert issued["token_type"] == "Bearer"
    assert issued["token"].startswith("rst_")
    assert "set-cookie" not in response.headers
    me = await https_client.get(ME, headers={"Authorization": f"Bearer {issued['token']}"})
    assert me.status_code == 200
    assert me.json()["auth_method"] == "token"
    assert me.json()["csrf_token"] is None


async def test_revoked_token_stops_working_at_once(
    https_client: Client, demo_directory: DemoDirectory
) -> None:
    issued = (
        await https_client.post(TOKEN, json=demo_directory.account(Role.WR_VOLUNTEER).login_body())
    ).json()
    headers = {"Authorization": f"Bearer {issued['token']}"}
    assert (await https_client.delete(TOKEN, headers=headers)).status_code == 204
    assert_problem(await https_client.get(ME, headers=headers), 401, "auth.unauthenticated")


async def test_a_session_cannot_revoke_itself_as_a_token(
    https_client: Client, demo_directory: DemoDirectory
) -> None:
    started = (
        await https_client.post(LOGIN, json=demo_directory.account(Role.POLICE_OFFICER).login_body())
    ).json()
    response = await https_client.delete(TOKEN, headers={"X-CSRF-Token": started["csrf_token"]})
    assert_problem(response, 422, "auth.wrong_credential_kind")


async def test_logout_ends_the_session_at_once(https_client: Client, demo_directory: DemoDirectory) -> None:
    started = await https_client.post(LOGIN, json=demo_directory.account(Role.POLICE_OFFICER).login_body())
    cookie = started.cookies[SESSION_COOKIE]
    response = await https_client.post(LOGOUT, headers={"X-CSRF-Token": started.json()["csrf_token"]})
    assert response.status_code == 204
    assert (
        f'{SESSION_COOKIE}=""' in response.headers["set-cookie"]
        or "Max-Age=0" in response.headers["set-cookie"]
    )
    # Even a client that keeps the old cookie is signed out.
    https_client.cookies.set(SESSION_COOKIE, cookie, domain="testserver.local")
    assert_problem(await https_client.get(ME), 401, "auth.unauthenticated")


async def test_session_idle_timeout(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await https_client.post(LOGIN, json=demo_directory.account(Role.POLICE_OFFICER).login_body())
    identity_clock.advance(minutes=29)
    assert (await https_client.get(ME)).status_code == 200  # activity renews the idle timer
    identity_clock.advance(minutes=29)
    assert (await https_client.get(ME)).status_code == 200
    identity_clock.advance(minutes=31)
    assert_problem(await https_client.get(ME), 401, "auth.unauthenticated")


async def test_session_absolute_timeout(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await https_client.post(LOGIN, json=demo_directory.account(Role.POLICE_OFFICER).login_body())
    started = identity_clock.now()
    # Continuously active: every 20 minutes for almost 12 hours, the session holds.
    while identity_clock.now() + dt.timedelta(minutes=20) < started + dt.timedelta(hours=12):
        identity_clock.advance(minutes=20)
        assert (await https_client.get(ME)).status_code == 200
    # At 12 hours it ends however active the user is.
    identity_clock.current = started + dt.timedelta(hours=12)
    assert_problem(await https_client.get(ME), 401, "auth.unauthenticated")


async def test_password_is_rehashed_when_the_cost_changes(
    https_client: Client, demo_directory: DemoDirectory, engine: AsyncEngine
) -> None:
    # Demo users were hashed at the tests' minimal cost; a server configured with a higher cost
    # upgrades the stored hash at the next successful sign-in.
    app = https_client.app
    stronger = PasswordHashing(time_cost=2, memory_cost_kib=2048, parallelism=1)
    app.state.identity = dataclasses.replace(app.state.identity, password_hashing=stronger)
    officer = demo_directory.account(Role.POLICE_OFFICER)
    assert (await https_client.post(TOKEN, json=officer.login_body())).status_code == 200
    async with engine.connect() as connection:
        stored = (
            await connection.execute(select(User.password_hash).where(User.id == officer.user_id))
        ).scalar_one()  # type: ignore[arg-type]
    assert stored.startswith("$argon2id$v=19$m=2048,t=2,p=1$")


async def test_unknown_users_cost_the_same_verification_as_known_ones(
    https_client: Client, demo_directory: DemoDirectory, monkeypatch: Any
) -> None:
    # Timing itself is measured in bench/, not asserted here; what makes it comparable is that
    # every refusal path runs exactly one Argon2 verification at the configured cost.
    from referral_service.identity import authentication

    calls: list[str] = []
    real = authentication.verify_password

    async def spy(stored_hash: str | None, password: str, params: Any) -> bool:
        calls.append("dummy" if stored_hash is None else "real")
        return await real(stored_hash, password, params)

    monkeypatch.setattr(authentication, "verify_password", spy)
    officer = demo_directory.account(Role.POLICE_OFFICER)
    await https_client.post(LOGIN, json={"username": officer.username, "password": "wrong-password-1"})
    await https_client.post(LOGIN, json={"username": "nobody.here", "password": "wrong-password-1"})
    await https_client.post(LOGIN, json={"username": "not a valid name!", "password": "wrong-password-1"})
    assert calls == ["real", "dummy", "dummy"]
