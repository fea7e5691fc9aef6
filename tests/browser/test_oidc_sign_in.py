"""Sign-in through an OpenID provider in a real browser: the test provider (tests/oidc, a node subprocess)
and a server of this module's own, whose providers file points there, and whose address the provider's
clients name as their redirect URIs.

The browser reaches the service as http://localhost and the provider as http://127.0.0.1: two sites,
so the way back from the provider is cross-site, as it is in production. That is what these tests are
for: the state cookie (Lax) must come along on the provider's redirect back, and the session cookie
(Strict) must be sent on the first page after sign-in; the callback answers with a page that moves on
by itself rather than a redirect for that reason (referral_service/web/oidc.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import expect

from referral_service.identity.tokens import SESSION_COOKIE
from tests.browser.support import (
    LiveServer,
    assert_accessible,
    free_port,
    keep_screenshot,
    live_server,
    scrolls_sideways,
    skip_unless_ready,
)
from tests.oidc.fixtures import ACCOUNTS, TESTSERVER, clients
from tests.oidc.provider import OidcProvider
from tests.oidc.relying_party import write_providers_file

pytestmark = pytest.mark.browser

POLICE_BUTTON = "Anmelden mit Polizei Sachsen"
# Bound to the police provider in `oidc_server`: an administrator's role needs a second factor, which
# this account proves with the local one-time code.
ADMIN = "admin.sachsen"
ADMIN_ACCOUNT = "admin-1"


@pytest.fixture(scope="module")
def oidc_provider_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OidcProvider, int]]:
    """The provider, with the service's clients redirecting to the port the module's server will use."""
    skip_unless_ready()
    port = free_port()
    provider = OidcProvider(tmp_path_factory.mktemp("browser-oidc-provider"), accounts=ACCOUNTS)
    provider.clients = _clients_for(provider.issuer, f"http://localhost:{port}")
    provider.start()
    try:
        yield provider, port
    finally:
        provider.stop()


def _clients_for(issuer: str, base_url: str) -> list[dict[str, Any]]:
    """The harness's clients, with their redirect URIs moved from the test client's host to `base_url`."""
    moved = []
    for client in clients(issuer):
        client = dict(client)
        for name in ("redirect_uris", "post_logout_redirect_uris"):
            if name in client:
                client[name] = [uri.replace(TESTSERVER, base_url) for uri in client[name]]
        moved.append(client)
    return moved


@pytest.fixture(scope="module")
def oidc_server(
    oidc_provider_process: tuple[OidcProvider, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    provider, port = oidc_provider_process
    workdir = tmp_path_factory.mktemp("browser-oidc-server")
    providers_file = write_providers_file(workdir, provider.issuer)
    environ = {"REFERRAL_OIDC_PROVIDERS_FILE": str(providers_file)}
    with live_server(workdir, port=port, environ=environ) as running:
        running.cli("users", "bind-oidc", ADMIN, "polizei", ADMIN_ACCOUNT)
        yield running


@pytest.fixture(scope="module")
def playwright_driver(oidc_server: LiveServer) -> Iterator[Any]:
    # As in conftest.py, but on this module's server: the shared one is not needed here.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def provider(oidc_provider_process: tuple[OidcProvider, int]) -> OidcProvider:
    return oidc_provider_process[0]


def _check(page: Any, name: str) -> None:
    """axe and no sideways scrolling at the page's current width; a screenshot if asked for."""
    assert not scrolls_sideways(page), f"{name} scrolls sideways"
    assert_accessible(page, name)
    keep_screenshot(page, name)


def _to_provider(page: Any, provider: OidcProvider) -> None:
    with page.expect_navigation(url=re.compile(re.escape(provider.issuer) + "/interaction/")):
        page.get_by_role("link", name=POLICE_BUTTON).click()


def _sign_in_at_provider(page: Any, account: str) -> None:
    page.get_by_label("Account").fill(account)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize("width", [1280, 375])
def test_sign_in_and_out_through_the_provider(
    page: Any, oidc_server: LiveServer, provider: OidcProvider, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(oidc_server.url("/anmelden"))
    expect(page.get_by_role("link", name=POLICE_BUTTON)).to_be_visible()
    expect(page.get_by_role("link", name="Anmelden mit WEISSER RING")).to_be_visible()
    _check(page, f"oidc-sign-in-page-{width}")

    _to_provider(page, provider)
    _sign_in_at_provider(page, "officer-1")
    page.wait_for_url(oidc_server.url("/"))
    # The first page after the provider was sent the new session cookie: the user is signed in. (With a
    # 303 from the callback instead of the page that moves on, Chromium does not send it, and this fails.)
    expect(page.get_by_role("heading", level=1, name="Startseite")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="Ihre Arbeitsbereiche")).to_be_visible()
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
    expect(page.get_by_role("link", name="Anmelden", exact=True)).to_have_count(0)
    _check(page, f"oidc-start-{width}")
    session = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    assert session

    # Signing out ends the provider's session too: its confirmation, then back to the sign-in page.
    with page.expect_navigation(url=re.compile(re.escape(provider.issuer) + "/session/end")):
        page.get_by_role("button", name="Abmelden").click()
    keep_screenshot(page, f"oidc-provider-logout-{width}")
    page.get_by_role("button", name=re.compile("Yes, sign me out", re.I)).click()
    page.wait_for_url(re.compile(re.escape(oidc_server.url("/anmelden?abgemeldet=1"))))
    expect(page.get_by_text("Sie sind abgemeldet.")).to_be_visible()
    _check(page, f"oidc-signed-out-{width}")

    # The session the cookie named is over: sent again, it opens nothing.
    page.context.add_cookies(session)
    page.goto(oidc_server.url("/konto"))
    assert urlsplit(page.url).path == "/anmelden"
    # Nor does the provider remember the person: the next sign-in asks again.
    _to_provider(page, provider)
    expect(page.get_by_label("Account")).to_be_visible()


def test_second_factor_page_after_the_provider(
    page: Any, oidc_server: LiveServer, provider: OidcProvider
) -> None:
    """A role that needs a second factor, without the provider's proof of one: the local one-time code."""
    page.goto(oidc_server.url("/anmelden"))
    _to_provider(page, provider)
    _sign_in_at_provider(page, ADMIN_ACCOUNT)
    page.wait_for_url(oidc_server.url("/anmelden/zweiter-faktor"))
    expect(page.get_by_role("heading", level=1, name="Zweiter Faktor")).to_be_visible()
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        _check(page, f"oidc-second-factor-{width}")
    code = oidc_server.totp_code(ADMIN)
    assert code is not None
    page.get_by_label("Einmalcode").fill(code)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(oidc_server.url("/"))
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()


def test_cancelled_sign_in_shows_a_message(
    page: Any, oidc_server: LiveServer, provider: OidcProvider
) -> None:
    """The provider's login form has no cancel button: the browser comes back as a provider sends it
    when the person cancels (RFC 6749 4.1.2.1, error=access_denied with the attempt's state)."""
    page.goto(oidc_server.url("/anmelden"))
    with page.expect_request(re.compile(re.escape(provider.issuer) + r"/auth\?")) as authorization:
        _to_provider(page, provider)
    state = parse_qs(urlsplit(authorization.value.url).query)["state"][0]
    callback = "/anmelden/mit/polizei/zurueck?" + urlencode({"error": "access_denied", "state": state})
    page.goto(oidc_server.url(callback))
    cancelled = "Die Anmeldung über Polizei Sachsen wurde abgebrochen."
    expect(page.get_by_role("status")).to_contain_text(cancelled)
    expect(page.get_by_role("link", name=POLICE_BUTTON)).to_be_visible()
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        _check(page, f"oidc-cancelled-{width}")
