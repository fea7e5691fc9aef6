"""Cookie sessions: CSRF protection for state changes, and credentials that end at once when they must."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from referral_service.identity.roles import Role
from referral_service.identity.tokens import SESSION_COOKIE
from tests.identity.support import DemoDirectory, FakeClock

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
LOGOUT = "/api/v1/auth/logout"
Client = AsyncTestClient[Litestar]


def assert_problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


async def sign_in(client: Client, demo_directory: DemoDirectory, who: Role | str, clock: FakeClock) -> str:
    response = await client.post(LOGIN, json=demo_directory.account(who).login_body(clock))
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


async def test_cookie_state_change_without_csrf_token_is_refused(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    assert_problem(await https_client.post(LOGOUT), 403, "auth.csrf")
    assert_problem(await https_client.post(LOGOUT, headers={"X-CSRF-Token": "forged"}), 403, "auth.csrf")
    # Refused means refused: the session is still there.
    assert (await https_client.get(ME)).status_code == 200


async def test_cookie_state_change_with_csrf_header_is_accepted(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    csrf = await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    assert (await https_client.post(LOGOUT, headers={"X-CSRF-Token": csrf})).status_code == 204


async def test_cookie_state_change_with_csrf_form_field_is_accepted(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    # What an HTML form posts.
    csrf = await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    assert (await https_client.post(LOGOUT, data={"_csrf": "wrong"})).status_code == 403
    assert (await https_client.post(LOGOUT, data={"_csrf": csrf})).status_code == 204


async def test_csrf_protects_administration_through_a_cookie_session(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    csrf = await sign_in(https_client, demo_directory, Role.ADMIN, identity_clock)
    target = demo_directory.account("officer.leipzig").user_id
    url = f"/api/v1/users/{target}"
    assert_problem(await https_client.patch(url, json={"active": False}), 403, "auth.csrf")
    assert (await https_client.get(url)).json()[
        "active"
    ] is True  # reading needs no token, and nothing changed
    response = await https_client.patch(url, json={"active": False}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200
    assert response.json()["active"] is False


async def test_the_csrf_token_of_another_session_does_not_count(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    first_cookie = https_client.cookies[SESSION_COOKIE]
    other_csrf = await sign_in(https_client, demo_directory, "officer.leipzig", identity_clock)
    # (One client on purpose: two test clients would run the app on two event loops.)
    https_client.cookies.clear()
    https_client.cookies.set(SESSION_COOKIE, first_cookie, domain="testserver.local")
    assert (await https_client.get(ME)).json()["username"] == "officer.dresden"
    assert_problem(await https_client.post(LOGOUT, headers={"X-CSRF-Token": other_csrf}), 403, "auth.csrf")


async def test_bearer_requests_need_no_csrf_token(https_client: Client, auth_headers: Any) -> None:
    headers = await auth_headers(Role.POLICE_OFFICER)
    assert (await https_client.post(LOGOUT, headers=headers)).status_code == 204
    assert_problem(await https_client.get(ME, headers=headers), 401, "auth.unauthenticated")


async def test_secure_cookie_is_not_sent_over_plain_http(
    identity_app: Litestar, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    async with AsyncTestClient(app=identity_app, base_url="http://testserver.local") as plain:
        await sign_in(plain, demo_directory, Role.POLICE_OFFICER, identity_clock)
        assert_problem(await plain.get(ME), 401, "auth.unauthenticated")


async def test_disabling_a_user_ends_their_sessions_and_tokens_at_once(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, auth_headers: Any
) -> None:
    await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    token = await auth_headers(Role.POLICE_OFFICER)
    officer = demo_directory.account(Role.POLICE_OFFICER)
    admin = await auth_headers(Role.ADMIN)
    assert (
        await https_client.patch(f"/api/v1/users/{officer.user_id}", json={"active": False}, headers=admin)
    ).is_success
    assert_problem(await https_client.get(ME), 401, "auth.unauthenticated")
    assert_problem(await https_client.get(ME, headers=token), 401, "auth.unauthenticated")
    # Enabling again does not revive old credentials.
    assert (
        await https_client.patch(f"/api/v1/users/{officer.user_id}", json={"active": True}, headers=admin)
    ).is_success
    assert_problem(await https_client.get(ME, headers=token), 401, "auth.unauthenticated")


async def test_password_reset_signs_the_user_out_everywhere(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, auth_headers: Any
) -> None:
    await sign_in(https_client, demo_directory, Role.WR_VOLUNTEER, identity_clock)
    volunteer = demo_directory.account(Role.WR_VOLUNTEER)
    admin = await auth_headers(Role.ADMIN)
    response = await https_client.post(
        f"/api/v1/users/{volunteer.user_id}/reset-password",
        json={"password": "Brand-new-passphrase"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    assert_problem(await https_client.get(ME), 401, "auth.unauthenticated")
    assert_problem(
        await https_client.post(LOGIN, json=volunteer.login_body()), 401, "auth.invalid_credentials"
    )
    new_login = {"username": volunteer.username, "password": "Brand-new-passphrase"}
    assert (await https_client.post(LOGIN, json=new_login)).status_code == 200


async def test_malformed_authorization_header_is_not_anonymous(https_client: Client) -> None:
    response = await https_client.get(ME, headers={"Authorization": "Basic b2ZmaWNlcjpwdw=="})
    assert_problem(response, 401, "auth.unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")
