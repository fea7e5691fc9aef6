"""`/api/v1/users`: the administrator creates, changes and disables accounts; the rules hold."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from referral_service.identity import totp
from referral_service.identity.roles import Role
from tests.identity.support import DemoDirectory, FakeClock

USERS = "/api/v1/users"
Client = AsyncTestClient[Litestar]


@pytest.fixture
async def admin(auth_headers: Any) -> dict[str, str]:
    headers: dict[str, str] = await auth_headers(Role.ADMIN)
    return headers


def new_user(unit_id: Any, role: str = "wr_volunteer", **extra: Any) -> dict[str, Any]:
    body = {
        "username": "volunteer.neu",
        "display_name": "Neues Ehrenamt",
        "unit_id": str(unit_id),
        "roles": [role],
        "password": "a long passphrase for tests",
    }
    return body | extra


def assert_problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_create_a_user_who_can_then_sign_in(
    https_client: Client, demo_directory: DemoDirectory, admin: dict[str, str]
) -> None:
    response = await https_client.post(
        USERS, json=new_user(demo_directory.unit("wr-chemnitz").id), headers=admin
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    assert created["totp"] is None  # a volunteer's second factor is optional
    user = created["user"]
    assert (user["username"], user["active"], user["roles"], user["totp_enabled"]) == (
        "volunteer.neu",
        True,
        ["wr_volunteer"],
        False,
    )
    assert "password" not in response.text
    fetched = await https_client.get(f"{USERS}/{user['id']}", headers=admin)
    assert fetched.json() == user
    login = {"username": "Volunteer.Neu ", "password": "a long passphrase for tests"}
    assert (await https_client.post("/api/v1/auth/token", json=login)).status_code == 200


async def test_a_user_whose_role_requires_totp_gets_a_secret_once(
    https_client: Client, demo_directory: DemoDirectory, admin: dict[str, str], identity_clock: FakeClock
) -> None:
    body = new_user(demo_directory.unit("zbs-sn").id, "complaints_lead", username="lead.neu")
    created = (await https_client.post(USERS, json=body, headers=admin)).json()
    assert created["user"]["totp_enabled"] is True
    secret = totp.from_base32(created["totp"]["secret"])
    assert created["totp"]["uri"].startswith("otpauth://totp/")
    login = {"username": "lead.neu", "password": body["password"]}
    assert (await https_client.post("/api/v1/auth/token", json=login)).status_code == 401
    login["totp_code"] = totp.current_code(secret, identity_clock.now())
    assert (await https_client.post("/api/v1/auth/token", json=login)).status_code == 200
    # The secret is never shown again.
    assert "totp" not in (await https_client.get(f"{USERS}/{created['user']['id']}", headers=admin)).json()


@pytest.mark.parametrize(
    ("unit_code", "roles", "status", "code"),
    [
        ("rev-dresden-nord", ["wr_volunteer"], 422, "identity.role_unit_mismatch"),
        ("wr-dresden", ["police_officer"], 422, "identity.role_unit_mismatch"),
        ("sn", ["admin", "auditor"], 409, "identity.role_conflict"),
        ("zbs-sn", ["complaints_handler", "admin"], 409, "identity.role_conflict"),
        ("wr-dresden", [], 422, "request.validation"),
        ("wr-dresden", ["no_such_role"], 422, "request.validation"),
    ],
)
async def test_roles_must_fit_the_unit_and_each_other(
    https_client: Client,
    demo_directory: DemoDirectory,
    admin: dict[str, str],
    unit_code: str,
    roles: list[str],
    status: int,
    code: str,
) -> None:
    body = new_user(demo_directory.unit(unit_code).id) | {"roles": roles}
    assert_problem(await https_client.post(USERS, json=body, headers=admin), status, code)


@pytest.mark.parametrize(
    ("override", "status", "code"),
    [
        ({"username": "officer.dresden"}, 409, "identity.username_taken"),
        ({"username": "OFFICER.DRESDEN"}, 409, "identity.username_taken"),
        ({"username": "Erika Mustermann"}, 422, "identity.invalid_username"),
        ({"password": "too-short"}, 422, "identity.password_policy"),
        ({"unit_id": "00000000-0000-4000-8000-000000000000"}, 404, "identity.unit_not_found"),
        ({"surprise": True}, 422, "request.validation"),
    ],
)
async def test_invalid_users_are_refused(
    https_client: Client,
    demo_directory: DemoDirectory,
    admin: dict[str, str],
    override: dict[str, Any],
    status: int,
    code: str,
) -> None:
    body = new_user(demo_directory.unit("wr-dresden").id) | override
    response = await https_client.post(USERS, json=body, headers=admin)
    assert_problem(response, status, code)
    assert "too-short" not in response.text


async def test_grant_and_revoke_roles(
    https_client: Client, demo_directory: DemoDirectory, admin: dict[str, str], auth_headers: Any
) -> None:
    volunteer = demo_directory.account("volunteer.dresden")
    volunteer_headers = await auth_headers("volunteer.dresden")
    url = f"{USERS}/{volunteer.user_id}/roles"
    assert (await https_client.get(USERS, headers=volunteer_headers)).status_code == 403

    granted = await https_client.post(url, json={"role": "wr_branch_lead"}, headers=admin)
    assert granted.status_code == 200, granted.text
    assert granted.json()["user"]["roles"] == ["wr_branch_lead", "wr_volunteer"]
    # Takes effect on the very next request with the same token.
    assert (await https_client.get(USERS, headers=volunteer_headers)).status_code == 200

    assert (await https_client.delete(f"{url}/wr_branch_lead", headers=admin)).status_code == 204
    assert (await https_client.get(USERS, headers=volunteer_headers)).status_code == 403
    assert_problem(
        await https_client.delete(f"{url}/wr_branch_lead", headers=admin), 409, "identity.role_not_held"
    )
    assert_problem(await https_client.delete(f"{url}/wr_volunteer", headers=admin), 409, "identity.last_role")
    assert_problem(
        await https_client.post(url, json={"role": "complaints_lead"}, headers=admin),
        422,
        "identity.role_unit_mismatch",
    )
    assert (await https_client.delete(f"{url}/nonsense", headers=admin)).status_code in {400, 422}


async def test_granting_a_role_that_requires_totp_provisions_one(
    https_client: Client, demo_directory: DemoDirectory, admin: dict[str, str], identity_clock: FakeClock
) -> None:
    handler = demo_directory.account(Role.COMPLAINTS_HANDLER)
    assert handler.totp_secret is None
    granted = await https_client.post(
        f"{USERS}/{handler.user_id}/roles", json={"role": "complaints_lead"}, headers=admin
    )
    assert granted.status_code == 200, granted.text
    assert granted.headers["cache-control"] == "no-store"
    secret = totp.from_base32(granted.json()["totp"]["secret"])
    # From now on the handler signs in with a second factor.
    assert (await https_client.post("/api/v1/auth/token", json=handler.login_body())).status_code == 401
    with_code = handler.login_body(totp_code=totp.current_code(secret, identity_clock.now()))
    assert (await https_client.post("/api/v1/auth/token", json=with_code)).status_code == 200


async def test_password_reset_can_replace_the_second_factor(
    https_client: Client, demo_directory: DemoDirectory, admin: dict[str, str], identity_clock: FakeClock
) -> None:
    office = demo_directory.account(Role.WR_STATE_OFFICE)
    reset = await https_client.post(
        f"{USERS}/{office.user_id}/reset-password",
        json={"password": "another long passphrase", "reset_totp": True},
        headers=admin,
    )
    assert reset.status_code == 200, reset.text
    new_secret = totp.from_base32(reset.json()["totp"]["secret"])
    assert new_secret != office.totp_secret
    old = {"username": office.username, "password": "another long passphrase"}
    old["totp_code"] = office.totp_code(identity_clock.now())
    assert (await https_client.post("/api/v1/auth/token", json=old)).status_code == 401
    identity_clock.advance(seconds=30)
    new = old | {"totp_code": totp.current_code(new_secret, identity_clock.now())}
    assert (await https_client.post("/api/v1/auth/token", json=new)).status_code == 200


async def test_disable_and_enable(
    https_client: Client, demo_directory: DemoDirectory, admin: dict[str, str]
) -> None:
    officer = demo_directory.account("officer.leipzig")
    url = f"{USERS}/{officer.user_id}"
    disabled = await https_client.patch(url, json={"active": False}, headers=admin)
    assert disabled.json()["active"] is False
    listed = (await https_client.get(USERS, params={"active": "false"}, headers=admin)).json()
    assert [user["username"] for user in listed] == ["officer.leipzig"]
    renamed = await https_client.patch(
        url, json={"display_name": "Streife Leipzig", "active": True}, headers=admin
    )
    assert (renamed.json()["display_name"], renamed.json()["active"]) == ("Streife Leipzig", True)


async def test_listing_pages(
    https_client: Client, demo_directory: DemoDirectory, admin: dict[str, str]
) -> None:
    first = (await https_client.get(USERS, params={"limit": 5}, headers=admin)).json()
    rest = (await https_client.get(USERS, params={"limit": 500, "offset": 5}, headers=admin)).json()
    assert [u["username"] for u in first + rest] == sorted(demo_directory.accounts)
    assert_problem(
        await https_client.get(USERS, params={"limit": 501}, headers=admin), 422, "request.validation"
    )


async def test_unknown_user_is_not_found(https_client: Client, admin: dict[str, str]) -> None:
    url = f"{USERS}/00000000-0000-4000-8000-000000000000"
    assert_problem(await https_client.get(url, headers=admin), 404, "identity.user_not_found")
    assert_problem(
        await https_client.patch(url, json={"active": False}, headers=admin), 404, "identity.user_not_found"
    )
