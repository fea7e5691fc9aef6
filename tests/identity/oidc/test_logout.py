"""Signing out of a provider session: RP-initiated logout from here, back-channel logout from there."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.identity.oidc import sign_in
from referral_service.identity.oidc.config import OidcConfig
from referral_service.identity.oidc.tokens import unverified_parts
from referral_service.identity.tokens import SESSION_COOKIE
from tests.identity.oidc.support import Client, audit_events, local, me, sign_in_with
from tests.identity.support import DemoDirectory
from tests.oidc.provider import OidcProvider
from tests.web.support import get_page, post_form, text_of

SIGNED_OUT = "https://testserver.local/anmelden?abgemeldet=1"
BACKCHANNEL = "/api/v1/auth/oidc/polizei/backchannel-logout"


async def from_provider(client: Client, logout_token: str) -> Any:
    """The provider's call, server to server: without the browser's cookies, so without CSRF token."""
    session_token = client.cookies.get(SESSION_COOKIE)
    client.cookies.clear()
    try:
        return await client.post(BACKCHANNEL, data={"logout_token": logout_token})
    finally:
        if session_token:
            client.cookies.set(SESSION_COOKIE, session_token, domain="testserver.local")


async def test_signing_out_ends_the_provider_session_too(
    oidc_client: Client, oidc_provider: OidcProvider, demo_directory: DemoDirectory
) -> None:
    jar = httpx.Cookies()
    answer, _ = await sign_in_with(oidc_client, oidc_provider, "polizei", "officer-1", jar=jar)
    assert answer.status_code == 200, answer.text
    csrf = (await me(oidc_client)).json()["csrf_token"]

    out = await post_form(oidc_client, "/abmelden", {"_csrf": csrf})

    assert out.status_code == 303
    location = out.headers["location"]
    endpoint, _, query = location.partition("?")
    assert endpoint == oidc_provider.discovery()["end_session_endpoint"]
    parameters = parse_qs(query)
    assert parameters["client_id"] == ["referral-police"]
    assert parameters["post_logout_redirect_uri"] == [SIGNED_OUT]
    assert parameters["state"][0]
    assert "id_token_hint" not in parameters  # no ID token is kept
    assert (await me(oidc_client)).status_code == 401
    back = oidc_provider.end_session(location, jar)
    assert urlsplit(back).path == "/anmelden"
    page = await get_page(oidc_client, local(back))
    assert page.status_code == 200
    assert "Sie sind abgemeldet" in text_of(page.text)


async def test_the_providers_backchannel_logout_ends_the_local_session(
    oidc_client: Client,
    oidc_app: Litestar,
    oidc_provider: OidcProvider,
    oidc_config: OidcConfig,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
) -> None:
    oidc_provider.backchannel_tokens()  # whatever earlier tests of this worker left
    jar = httpx.Cookies()
    answer, _ = await sign_in_with(oidc_client, oidc_provider, "polizei", "officer-1", jar=jar)
    assert answer.status_code == 200, answer.text
    provider = oidc_config.provider("polizei")
    assert provider is not None
    # Signed out at the provider (another application, say): it tells every relying party.
    url = await sign_in.end_session_url(
        provider, oidc_app.state.oidc_directory, post_logout_redirect_uri=SIGNED_OUT
    )
    assert url is not None
    oidc_provider.end_session(url, jar)
    [token] = oidc_provider.backchannel_tokens()
    header, claims = unverified_parts(token)
    other_key = RSAKey.generate_key(2048, parameters={"kid": header["kid"]}, private=True)
    forged = jwt.encode(dict(header), dict(claims), other_key, algorithms=[header["alg"]])

    refused = await from_provider(oidc_client, forged)
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await me(oidc_client)).status_code == 200  # nothing ended
    done = await from_provider(oidc_client, token)

    assert done.status_code == 200, done.text
    assert done.headers["cache-control"] == "no-store"
    assert (await me(oidc_client)).status_code == 401
    assert await audit_events(engine, "identity:oidc:logout") == [
        ("failure", {"provider": "polizei", "reason": "signature"}),
        ("success", {"provider": "polizei", "sessions": 1}),
    ]
