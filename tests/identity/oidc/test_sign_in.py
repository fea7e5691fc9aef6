"""Signing in through the real OpenID provider: provisioning, mapping, second factor, one-use state.

Each sign-in is one round trip through the provider process (tests/oidc); accounts changed with
`set_account` are put back, since the provider is shared by the worker's tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity import service
from referral_service.identity.config import IdentityConfig
from referral_service.identity.oidc import provisioning
from referral_service.identity.oidc.config import OidcConfig
from referral_service.identity.oidc.metadata import ProviderDirectory
from referral_service.identity.oidc.sign_in import STATE_COOKIE
from referral_service.identity.roles import Role
from referral_service.settings import Settings
from tests.identity.oidc.support import Client, audit_events, me, provider_callback, sign_in_with
from tests.identity.support import DemoDirectory, FakeClock
from tests.oidc.fixtures import ACCOUNTS
from tests.oidc.provider import OidcProvider
from tests.plaintext_scan import stored_bytes
from tests.web.support import HTML, csrf_of, get_page, post_form, text_of

LOGIN = "identity:oidc:login"
FAILED_POLICE = "Die Anmeldung über Polizei Sachsen ist fehlgeschlagen"


@contextmanager
def account_changed(provider: OidcProvider, account: str, **claims: Any) -> Iterator[None]:
    provider.set_account(account, {**ACCOUNTS[account], **claims})
    try:
        yield
    finally:
        provider.set_account(account, ACCOUNTS[account])


async def refusals(engine: AsyncEngine) -> list[str]:
    return [
        details["reason"] for outcome, details in await audit_events(engine, LOGIN) if outcome == "failure"
    ]


def assert_refused(answer: Any, message: str = FAILED_POLICE) -> None:
    assert answer.status_code == 400, answer.text
    assert message in text_of(answer.text)
    assert STATE_COOKIE in answer.headers.get("set-cookie", "")  # the attempt's cookie is cleared


async def test_first_sign_in_creates_the_user_and_the_session_works(
    oidc_client: Client,
    oidc_provider: OidcProvider,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    capfd: pytest.CaptureFixture[str],
) -> None:
    answer, callback = await sign_in_with(oidc_client, oidc_provider, "polizei", "officer-1")

    assert answer.status_code == 200, answer.text
    assert 'http-equiv="refresh" content="0; url=/"' in answer.text
    who = (await me(oidc_client)).json()
    assert who["username"] == "polizei.pprufer"
    assert who["display_name"] == "Paula Prüfer"
    assert who["roles"] == ["police_officer"]
    assert who["unit"]["code"] == "rev-dresden-nord"
    assert who["auth_method"] == "session"
    assert (await oidc_client.get("/api/v1/referrals")).status_code == 200
    [(outcome, details)] = await audit_events(engine, LOGIN)
    assert (outcome, details) == (
        "success",
        {"method": "session", "provider": "polizei", "second_factor": "none"},
    )
    created_events = await audit_events(engine, "identity:user:create")  # the demo users' too
    [created] = [details for _, details in created_events if "provider" in details]
    assert created["provider"] == "polizei"
    assert created["roles"] == ["police_officer"]

    replayed = await oidc_client.get(callback, headers=HTML, follow_redirects=False)
    assert_refused(replayed)
    assert await refusals(engine) == ["state"]

    # The subject and the e-mail address are stored nowhere; name and username only as the user's.
    claims = ACCOUNTS["officer-1"]
    stored = await stored_bytes(engine)
    for value in ("officer-1", claims["email"]):
        assert value.encode() not in stored
    async with engine.connect() as connection:
        audit_rows = (await connection.execute(text("SELECT * FROM audit_events"))).all()
        users = (await connection.execute(text("SELECT username, display_name FROM users"))).all()
    assert ("polizei.pprufer", "Paula Prüfer") in [tuple(row) for row in users]
    logged = capfd.readouterr()
    for value in ("officer-1", claims["email"], claims["name"], claims["preferred_username"]):
        assert value not in repr(audit_rows)
        assert value not in logged.out + logged.err


async def test_each_sign_in_applies_the_providers_groups_and_no_group_is_refused(
    oidc_client: Client, oidc_provider: OidcProvider, demo_directory: DemoDirectory, engine: AsyncEngine
) -> None:
    assert (await sign_in_with(oidc_client, oidc_provider, "polizei", "officer-1"))[0].status_code == 200
    with account_changed(
        oidc_provider, "officer-1", groups=["rs-police-supervisor", "unknown"], unit="pd-dresden"
    ):
        assert (await sign_in_with(oidc_client, oidc_provider, "polizei", "officer-1"))[0].status_code == 200
        who = (await me(oidc_client)).json()
        assert who["roles"] == ["police_supervisor"]
        assert who["unit"]["code"] == "pd-dresden"
    revoked = await audit_events(engine, "identity:role:revoke")
    assert [details["role"] for _, details in revoked] == ["police_officer"]

    with account_changed(oidc_provider, "officer-1", groups=[]):
        answer, _ = await sign_in_with(oidc_client, oidc_provider, "polizei", "officer-1")
    assert_refused(answer)
    assert await refusals(engine) == ["no_roles"]


async def test_bind_provisioning_signs_in_only_bound_users(
    oidc_client: Client,
    oidc_app: Litestar,
    oidc_provider: OidcProvider,
    oidc_config: OidcConfig,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    identity_config: IdentityConfig,
    settings: Settings,
) -> None:
    refused, _ = await sign_in_with(oidc_client, oidc_provider, "weisser-ring", "volunteer-1")
    assert_refused(refused, "Die Anmeldung über WEISSER RING ist fehlgeschlagen")
    assert await refusals(engine) == ["not_bound"]
    async with AsyncSession(engine, expire_on_commit=False) as session:
        view = await service.create_user(
            session,
            None,
            username="wr.helferin",
            display_name="Helferin",
            unit_id=demo_directory.unit("wr-dresden").id,
            roles=[Role.WR_VOLUNTEER],
            password="a long enough password 42",
            config=identity_config,
            secret=settings.secret_key,
            audit={},
        )
        provider = oidc_config.provider("weisser-ring")
        assert provider is not None
        await provisioning.bind_username(
            session,
            "wr.helferin",
            provider,
            "volunteer-1",
            config=identity_config,
            secret=settings.secret_key,
            audit={},
        )
        await session.commit()

    answer, _ = await sign_in_with(oidc_client, oidc_provider, "weisser-ring", "volunteer-1")
    assert answer.status_code == 200, answer.text
    who = (await me(oidc_client)).json()
    assert (who["user_id"], who["roles"]) == (str(view.user.id), ["wr_volunteer"])
    [(_, bound)] = await audit_events(engine, "identity:oidc:bind")
    assert bound == {"provider": "weisser-ring"}


async def test_a_provider_cannot_sign_into_units_outside_its_tree(
    oidc_client: Client, oidc_provider: OidcProvider, demo_directory: DemoDirectory, engine: AsyncEngine
) -> None:
    with account_changed(oidc_provider, "volunteer-1", unit="rev-dresden-nord"):
        answer, _ = await sign_in_with(oidc_client, oidc_provider, "weisser-ring", "volunteer-1")
    assert_refused(answer, "Die Anmeldung über WEISSER RING ist fehlgeschlagen")
    assert await refusals(engine) == ["unit_outside_provider"]


async def test_roles_needing_a_second_factor_take_the_providers_proof(
    oidc_client: Client, oidc_provider: OidcProvider, demo_directory: DemoDirectory, engine: AsyncEngine
) -> None:
    without, _ = await sign_in_with(oidc_client, oidc_provider, "polizei", "admin-1")
    assert_refused(without)
    assert await refusals(engine) == ["second_factor"]
    assert (await me(oidc_client)).status_code == 401

    proven, _ = await sign_in_with(oidc_client, oidc_provider, "polizei", "admin-1", amr=["otp"])
    assert proven.status_code == 200, proven.text
    assert (await me(oidc_client)).json()["roles"] == ["admin"]
    successes = [details for outcome, details in await audit_events(engine, LOGIN) if outcome == "success"]
    assert [details["second_factor"] for details in successes] == ["provider"]


async def test_without_the_providers_proof_a_bound_user_gives_the_local_code(
    oidc_client: Client,
    oidc_provider: OidcProvider,
    oidc_config: OidcConfig,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    identity_config: IdentityConfig,
    identity_clock: FakeClock,
    settings: Settings,
) -> None:
    admin = demo_directory.account(Role.ADMIN)
    provider = oidc_config.provider("polizei")
    assert provider is not None
    async with AsyncSession(engine, expire_on_commit=False) as session:
        await provisioning.bind_username(
            session,
            admin.username,
            provider,
            "admin-1",
            config=identity_config,
            secret=settings.secret_key,
            audit={},
        )
        await session.commit()

    answer, _ = await sign_in_with(oidc_client, oidc_provider, "polizei", "admin-1")
    assert (answer.status_code, answer.headers["location"]) == (303, "/anmelden/zweiter-faktor")
    assert (await me(oidc_client)).status_code == 401  # not signed in before the code
    form = await get_page(oidc_client, "/anmelden/zweiter-faktor")
    assert form.status_code == 200
    wrong = await post_form(
        oidc_client, "/anmelden/zweiter-faktor", {"_csrf": csrf_of(form.text), "totp_code": "000000"}
    )
    assert wrong.status_code == 400
    assert "Der Einmalcode ist nicht richtig" in text_of(wrong.text)
    right = await post_form(
        oidc_client,
        "/anmelden/zweiter-faktor",
        {"_csrf": csrf_of(wrong.text), "totp_code": admin.totp_code(identity_clock.now())},
    )
    assert right.status_code == 200, right.text
    who = (await me(oidc_client)).json()
    assert (who["username"], who["roles"]) == (admin.username, ["admin"])
    outcomes = [(outcome, details.get("reason")) for outcome, details in await audit_events(engine, LOGIN)]
    assert outcomes == [("failure", "totp_invalid"), ("success", None)]


async def test_a_callback_with_another_browsers_state_is_refused(
    oidc_client: Client, oidc_provider: OidcProvider, demo_directory: DemoDirectory, engine: AsyncEngine
) -> None:
    callback = await provider_callback(oidc_client, oidc_provider, "polizei", "officer-1")
    oidc_client.cookies.set(
        STATE_COOKIE, "a-state-this-browser-never-started-0123456789", domain="testserver.local"
    )
    answer = await oidc_client.get(callback, headers=HTML, follow_redirects=False)
    assert_refused(answer)
    assert await refusals(engine) == ["state"]
    assert (await me(oidc_client)).status_code == 401


async def test_an_expired_attempt_is_refused(
    oidc_client: Client,
    oidc_provider: OidcProvider,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    identity_clock: FakeClock,
) -> None:
    callback = await provider_callback(oidc_client, oidc_provider, "polizei", "officer-1")
    identity_clock.advance(minutes=11)
    answer = await oidc_client.get(callback, headers=HTML, follow_redirects=False)
    assert_refused(answer)
    assert await refusals(engine) == ["state"]


async def test_cancelling_at_the_provider_returns_to_the_sign_in_page(
    oidc_client: Client, demo_directory: DemoDirectory, engine: AsyncEngine
) -> None:
    started = await oidc_client.get("/anmelden/mit/polizei", headers=HTML, follow_redirects=False)
    state = oidc_client.cookies.get(STATE_COOKIE)
    assert started.status_code == 303
    assert state
    answer = await oidc_client.get(
        f"/anmelden/mit/polizei/zurueck?error=access_denied&state={state}",
        headers=HTML,
        follow_redirects=False,
    )
    assert answer.status_code == 400
    assert "wurde abgebrochen" in text_of(answer.text)
    assert await refusals(engine) == ["provider_error"]


async def test_the_sign_in_page_offers_each_provider(
    oidc_client: Client, demo_directory: DemoDirectory
) -> None:
    page = await get_page(oidc_client, "/anmelden?weiter=/meldungen")
    assert 'href="/anmelden/mit/polizei?weiter=/meldungen"' in page.text
    assert "Anmelden mit WEISSER RING" in text_of(page.text)
    assert (await get_page(oidc_client, "/anmelden/mit/unbekannt")).status_code == 404


def unreachable() -> httpx.AsyncClient:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    return httpx.AsyncClient(transport=httpx.MockTransport(refuse))


async def test_a_provider_that_cannot_be_reached_gets_a_clear_page_not_an_error(
    oidc_client: Client,
    oidc_app: Litestar,
    oidc_provider: OidcProvider,
    oidc_config: OidcConfig,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
) -> None:
    callback = await provider_callback(oidc_client, oidc_provider, "polizei", "officer-1")
    working = oidc_app.state.oidc_directory
    oidc_app.state.oidc_directory = ProviderDirectory(http=unreachable)
    try:
        at_callback = await oidc_client.get(callback, headers=HTML, follow_redirects=False)
        at_start = await get_page(oidc_client, "/anmelden/mit/polizei")
    finally:
        oidc_app.state.oidc_directory = working
    for answer in (at_start, at_callback):
        assert answer.status_code == 503
        assert "Polizei Sachsen ist im Moment nicht erreichbar" in text_of(answer.text)
    assert await refusals(engine) == ["provider_unavailable"]
    assert (await me(oidc_client)).status_code == 401
