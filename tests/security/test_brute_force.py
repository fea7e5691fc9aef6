"""Password guessing: throttled per account and per client address, with growing locks that expire."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity import authentication
from referral_service.identity.config import IdentityConfig, ThrottlePolicy
from referral_service.identity.roles import Role
from referral_service.settings import Settings
from tests.identity.support import DemoDirectory, FakeClock

LOGIN = "/api/v1/auth/login"
TOKEN = "/api/v1/auth/token"
Client = AsyncTestClient[Litestar]


def code_of(response: Any) -> str:
    return str(response.json()["code"])


def without_request_id(response: Any) -> dict[str, Any]:
    return {k: v for k, v in response.json().items() if k != "request_id"}


async def test_the_account_locks_after_five_failures_and_refuses_even_the_right_password(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    officer = demo_directory.account(Role.POLICE_OFFICER)
    wrong = {"username": officer.username, "password": "guess-number-one"}
    for _ in range(5):
        response = await https_client.post(LOGIN, json=wrong)
        assert (response.status_code, code_of(response)) == (401, "auth.invalid_credentials")

    locked_wrong = await https_client.post(LOGIN, json=wrong)
    locked_right = await https_client.post(LOGIN, json=officer.login_body())
    assert (locked_right.status_code, code_of(locked_right)) == (429, "auth.throttled")
    # Same answer for right and wrong: the lock is no oracle for the password.
    assert locked_right.status_code == locked_wrong.status_code
    assert without_request_id(locked_right) == without_request_id(locked_wrong)
    assert locked_right.headers["retry-after"] == locked_wrong.headers["retry-after"] == "60"
    assert "set-cookie" not in locked_right.headers
    # Bearer tokens are throttled by the same counter.
    assert (await https_client.post(TOKEN, json=officer.login_body())).status_code == 429

    identity_clock.advance(seconds=59)
    assert (await https_client.post(LOGIN, json=officer.login_body())).status_code == 429
    identity_clock.advance(seconds=2)
    assert (await https_client.post(LOGIN, json=officer.login_body())).status_code == 200


async def test_each_further_failure_doubles_the_lock(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    officer = demo_directory.account(Role.POLICE_OFFICER)
    wrong = {"username": officer.username, "password": "guess-number-one"}
    for _ in range(5):
        await https_client.post(LOGIN, json=wrong)
    for expected_lock in (60, 120, 240):
        locked = await https_client.post(LOGIN, json=wrong)
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) == expected_lock
        identity_clock.advance(seconds=expected_lock + 1)
        # The first guess after the lock is evaluated (and fails), which extends the lock.
        assert (await https_client.post(LOGIN, json=wrong)).status_code == 401
    assert int((await https_client.post(LOGIN, json=wrong)).headers["retry-after"]) == 480


async def test_success_resets_the_account_counter(
    https_client: Client, demo_directory: DemoDirectory
) -> None:
    officer = demo_directory.account(Role.POLICE_OFFICER)
    wrong = {"username": officer.username, "password": "guess-number-one"}
    for _ in range(4):
        await https_client.post(LOGIN, json=wrong)
    assert (await https_client.post(TOKEN, json=officer.login_body())).status_code == 200
    for _ in range(4):
        assert (await https_client.post(LOGIN, json=wrong)).status_code == 401
    assert (await https_client.post(TOKEN, json=officer.login_body())).status_code == 200


async def test_unknown_usernames_lock_exactly_like_real_ones(
    https_client: Client, demo_directory: DemoDirectory
) -> None:
    for _ in range(5):
        await https_client.post(LOGIN, json={"username": "no.such.user", "password": "guess-number-one"})
    response = await https_client.post(
        LOGIN, json={"username": "no.such.user", "password": "guess-number-one"}
    )
    assert (response.status_code, code_of(response)) == (429, "auth.throttled")


async def test_the_client_address_locks_when_spraying_across_accounts(
    https_client: Client,
    demo_directory: DemoDirectory,
    identity_clock: FakeClock,
    engine: AsyncEngine,
    identity_config: IdentityConfig,
    settings: Settings,
) -> None:
    # Password spraying: one guess per account, so no account lock; the address lock stops it.
    for number in range(20):
        response = await https_client.post(
            LOGIN, json={"username": f"sprayed.{number}", "password": "Sommer2026!!"}
        )
        assert response.status_code == 401
    officer = demo_directory.account(Role.POLICE_OFFICER)
    blocked = await https_client.post(LOGIN, json=officer.login_body())
    assert (blocked.status_code, code_of(blocked)) == (429, "auth.throttled")

    # The same account from another address is not affected (the ASGI test client has one fixed
    # address, so this signs in through the service with another client hash).
    async with AsyncSession(engine, expire_on_commit=False) as session:
        result = await authentication.login(
            session,
            username=officer.username,
            password=officer.password,
            totp_code=None,
            config=identity_config,
            secret=settings.secret_key,
            audit={"request_id": None, "client_hash": "another-address"},
        )
        await session.commit()
    assert result.principal.username == officer.username

    identity_clock.advance(minutes=1, seconds=1)
    assert (await https_client.post(LOGIN, json=officer.login_body())).status_code == 200


@pytest.mark.parametrize(
    ("failures", "lock"),
    [(4, None), (5, 60), (6, 120), (7, 240), (12, 3600), (40, 3600)],
)
def test_lock_policy(failures: int, lock: int | None) -> None:
    policy = ThrottlePolicy(free_failures=5)
    expected = dt.timedelta(seconds=lock) if lock is not None else None
    assert policy.lock_for(failures) == expected


async def test_failures_are_forgotten_after_a_quiet_day(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    officer = demo_directory.account(Role.POLICE_OFFICER)
    wrong = {"username": officer.username, "password": "guess-number-one"}
    for _ in range(4):
        await https_client.post(LOGIN, json=wrong)
    identity_clock.advance(hours=25)
    for _ in range(4):
        assert (await https_client.post(LOGIN, json=wrong)).status_code == 401
    assert (await https_client.post(LOGIN, json=officer.login_body())).status_code == 200
