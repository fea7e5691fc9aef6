"""What every signed-in user does for themselves: change the password, enrol an authenticator."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from referral_service.identity import totp
from referral_service.identity.roles import Role
from tests.identity.support import DemoDirectory, FakeClock

Client = AsyncTestClient[Litestar]
TOKEN = "/api/v1/auth/token"


async def token_headers(client: Client, body: dict[str, str]) -> dict[str, str]:
    response = await client.post(TOKEN, json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def test_enrol_an_authenticator_then_it_is_required(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    volunteer = demo_directory.account(Role.WR_VOLUNTEER)
    headers = await token_headers(https_client, volunteer.login_body())
    started = await https_client.post(
        "/api/v1/auth/totp", json={"password": volunteer.password}, headers=headers
    )
    assert started.status_code == 200, started.text
    assert started.headers["cache-control"] == "no-store"
    secret = totp.from_base32(started.json()["secret"])
    # Until confirmed, nothing changes.
    assert (await https_client.get("/api/v1/auth/me", headers=headers)).json()["totp_enabled"] is False
    wrong = await https_client.post("/api/v1/auth/totp/confirm", json={"code": "000000"}, headers=headers)
    assert (wrong.status_code, wrong.json()["code"]) == (422, "auth.totp_invalid")
    code = totp.current_code(secret, identity_clock.now())
    assert (
        await https_client.post("/api/v1/auth/totp/confirm", json={"code": code}, headers=headers)
    ).status_code == 204
    assert (await https_client.get("/api/v1/auth/me", headers=headers)).json()["totp_enabled"] is True

    assert (await https_client.post(TOKEN, json=volunteer.login_body())).status_code == 401
    # The code used to confirm cannot be replayed to sign in.
    assert (await https_client.post(TOKEN, json=volunteer.login_body(totp_code=code))).status_code == 401
    identity_clock.advance(seconds=30)
    fresh = totp.current_code(secret, identity_clock.now())
    assert (await https_client.post(TOKEN, json=volunteer.login_body(totp_code=fresh))).status_code == 200


async def test_enrolment_needs_the_current_password(
    https_client: Client, demo_directory: DemoDirectory, auth_headers: Any
) -> None:
    headers = await auth_headers(Role.WR_VOLUNTEER)
    response = await https_client.post(
        "/api/v1/auth/totp", json={"password": "not-my-password"}, headers=headers
    )
    assert (response.status_code, response.json()["code"]) == (422, "auth.reauthentication_failed")
    confirm = await https_client.post("/api/v1/auth/totp/confirm", json={"code": "123456"}, headers=headers)
    assert (confirm.status_code, confirm.json()["code"]) == (409, "auth.totp_not_pending")


async def test_reauthentication_is_throttled_like_a_sign_in(
    https_client: Client, demo_directory: DemoDirectory, auth_headers: Any
) -> None:
    # A stolen session must not become a way to guess the password.
    headers = await auth_headers(Role.WR_VOLUNTEER)
    for _ in range(5):
        await https_client.post("/api/v1/auth/totp", json={"password": "not-my-password"}, headers=headers)
    volunteer = demo_directory.account(Role.WR_VOLUNTEER)
    response = await https_client.post(
        "/api/v1/auth/totp", json={"password": volunteer.password}, headers=headers
    )
    assert response.status_code == 429


async def test_change_own_password_signs_out_other_sessions(
    https_client: Client, demo_directory: DemoDirectory
) -> None:
    officer = demo_directory.account(Role.POLICE_OFFICER)
    current = await token_headers(https_client, officer.login_body())
    other = await token_headers(https_client, officer.login_body())
    body = {"current_password": officer.password, "new_password": "my own new passphrase"}
    assert (await https_client.post("/api/v1/auth/password", json=body, headers=current)).status_code == 204
    assert (await https_client.get("/api/v1/auth/me", headers=current)).status_code == 200
    assert (await https_client.get("/api/v1/auth/me", headers=other)).status_code == 401
    assert (await https_client.post(TOKEN, json=officer.login_body())).status_code == 401
    new = {"username": officer.username, "password": "my own new passphrase"}
    assert (await https_client.post(TOKEN, json=new)).status_code == 200


async def test_change_password_checks_the_current_one_and_the_policy(
    https_client: Client, demo_directory: DemoDirectory, auth_headers: Any
) -> None:
    officer = demo_directory.account(Role.POLICE_OFFICER)
    headers = await auth_headers(Role.POLICE_OFFICER)
    wrong = {"current_password": "nope-nope-nope", "new_password": "my own new passphrase"}
    response = await https_client.post("/api/v1/auth/password", json=wrong, headers=headers)
    assert response.json()["code"] == "auth.reauthentication_failed"
    weak = {"current_password": officer.password, "new_password": "short"}
    response = await https_client.post("/api/v1/auth/password", json=weak, headers=headers)
    assert response.json()["code"] == "identity.password_policy"
