"""The permission matrix and the object-scope checks, for principals from either way in.

A test marked `@CREDENTIAL_PATHS` runs once with local credentials (bearer tokens
minted for the demo users, as everywhere else) and once with people signed in through the real OpenID
provider (tests/oidc): each demo user is bound to a provider subject whose claims name the user's unit
and role (and a second factor where the role needs one), signs in through the provider once, and is
then served by that session: a cookie and its CSRF token. The matrix asks for a fresh credential after
every state change; later sessions of the same provider-provisioned account are minted directly, like
the local tokens. The OpenID runs take PostgreSQL only: the path under test is the sign-in, not the
engine, and the matrix is the suite's longest test.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.db import create_session_factory
from referral_service.identity import credentials
from referral_service.identity.config import IdentityConfig
from referral_service.identity.oidc import provisioning
from referral_service.identity.oidc.config import OidcConfig
from referral_service.identity.roles import Role, requires_totp
from referral_service.identity.tokens import SESSION_COOKIE
from referral_service.settings import Settings
from tests.conftest import Applications
from tests.identity.oidc.support import sign_in_with
from tests.identity.support import AuthHeaders, DemoDirectory
from tests.oidc.provider import OidcProvider

LOCAL, OPENID = "local", "openid"
CREDENTIAL_PATHS = pytest.mark.parametrize("credential_path", [LOCAL, OPENID], indirect=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The OpenID runs on PostgreSQL only (see the module docstring)."""
    items[:] = [
        item
        for item in items
        if not (
            (callspec := getattr(item, "callspec", None)) is not None
            and callspec.params.get("credential_path") == OPENID
            and callspec.params.get("database_url") == "sqlite"
        )
    ]


@pytest.fixture
def credential_path(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", LOCAL))


@pytest.fixture
async def identity_app(
    settings: Settings,
    identity_config: IdentityConfig,
    applications: Applications,
    credential_path: str,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Litestar]:
    """The application of the tests here: with the OpenID providers configured on the OpenID path."""
    providers = request.getfixturevalue("oidc_config") if credential_path == OPENID else None
    built = applications.get(settings, identity_config, oidc_config=providers)
    yield built
    await applications.release(built)


def _provider_for(unit_path: str) -> str:
    """The provider whose subtree holds the unit: the WEISSER RING's for its part, else the police's."""
    return "weisser-ring" if "/wr-sn/" in unit_path else "polizei"


@pytest.fixture
def auth_headers(
    credential_path: str,
    engine: AsyncEngine,
    demo_directory: DemoDirectory,
    identity_config: IdentityConfig,
    identity_app: Litestar,
    settings: Settings,
    request: pytest.FixtureRequest,
) -> AuthHeaders:
    if credential_path == LOCAL:
        from tests.identity.support import mint_token

        async def local_headers(who: Role | str) -> dict[str, str]:
            token = await mint_token(engine, demo_directory.account(who).user_id, identity_config)
            return {"Authorization": f"Bearer {token}"}

        return local_headers

    provider: OidcProvider = request.getfixturevalue("oidc_provider")
    config: OidcConfig = request.getfixturevalue("oidc_config")
    signed_in: set[uuid.UUID] = set()

    async def sign_in(who: Role | str) -> dict[str, str]:
        account = demo_directory.account(who)
        key = _provider_for(account.unit.path)
        oidc = config.provider(key)
        assert oidc is not None
        group = next(claim for claim, role in oidc.roles.items() if role is account.role)
        # One subject per test database, so that no earlier test's provider session stands in.
        subject = f"demo-{account.username}-{uuid.uuid4().hex[:8]}"
        provider.set_account(
            subject,
            {
                "name": account.username,
                "preferred_username": account.username,
                "groups": [group],
                "unit": account.unit.code,
            },
        )
        async with create_session_factory(engine)() as session, session.begin():
            await provisioning.bind_username(
                session,
                account.username,
                oidc,
                subject,
                config=identity_config,
                secret=settings.secret_key,
                audit={},
            )
        proof = {"amr": ["otp"]} if key == "polizei" else {"acr": "mfa"}
        # The test's own client plays the browser (a second client would start and end the application
        # a second time); its cookie jar is emptied afterwards, so that anonymous calls stay anonymous.
        browser = request.getfixturevalue("https_client")
        try:
            answer, _ = await sign_in_with(
                browser, provider, key, subject, **(proof if requires_totp({account.role}) else {})
            )
            assert answer.status_code == 200, answer.text
            token = browser.cookies.get(SESSION_COOKIE)
            assert token, "the sign-in through the provider opened no session"
        finally:
            browser.cookies.clear()
        headers = {"Cookie": f"{SESSION_COOKIE}={token}"}
        me = await browser.get("/api/v1/auth/me", headers=headers)
        assert me.status_code == 200, me.text
        assert me.json()["roles"] == [account.role.value], "the claims gave another role"
        signed_in.add(account.user_id)
        return {**headers, "X-CSRF-Token": me.json()["csrf_token"]}

    async def openid_headers(who: Role | str) -> dict[str, str]:
        account = demo_directory.account(who)
        if account.user_id not in signed_in:
            return await sign_in(who)
        async with create_session_factory(engine)() as session, session.begin():
            token, row = await credentials.create_session(session, account.user_id, identity_config)
        return {"Cookie": f"{SESSION_COOKIE}={token}", "X-CSRF-Token": row.csrf_token}

    return openid_headers
