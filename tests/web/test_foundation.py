"""The page foundation: layout, security headers, language, sign-in and sign-out, session expiry."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.identity.models import AuthSession
from referral_service.identity.roles import Role
from referral_service.identity.tokens import SESSION_COOKIE
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.support import (
    HTML,
    Client,
    assert_html,
    csrf_of,
    get_page,
    post_form,
    sign_in,
    text_of,
)

PUBLIC_PAGES = ["/", "/anmelden", "/barrierefreiheit", "/leichte-sprache"]


async def _sessions(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(AuthSession))).scalar_one())


async def test_public_pages_are_german_html_with_the_security_headers(https_client: Client) -> None:
    for path in PUBLIC_PAGES:
        response = await get_page(https_client, path)
        assert_html(response)
        assert '<html lang="de">' in response.text
        assert response.headers["cache-control"] == "no-store"
        # Landmarks and the skip link every page has.
        for landmark in (
            '<a class="skip-link" href="#main">',
            "<header",
            '<main id="main"',
            "<footer",
            "<nav",
        ):
            assert landmark in response.text, (path, landmark)


async def test_templates_have_no_inline_script_or_style(https_client: Client) -> None:
    # The Content-Security-Policy forbids them; a page that used them would break silently.
    for path in PUBLIC_PAGES:
        page_html = (await get_page(https_client, path)).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page_html), path
        assert not re.search(r"\sstyle=", page_html), path
        assert not re.search(r"\son[a-z]+=", page_html), path
        assert "<style" not in page_html, path


async def test_static_files_are_served_without_external_hosts(https_client: Client) -> None:
    script = await https_client.get("/static/js/htmx.min.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert script.headers["x-content-type-options"] == "nosniff"
    css = await https_client.get("/static/css/site.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    page_html = (await get_page(https_client, "/")).text
    assert not re.search(r'(src|href)="(https?:)?//', page_html)


async def test_language_switch_is_remembered_and_returns_to_the_page(https_client: Client) -> None:
    response = await https_client.get("/sprache/en?weiter=/barrierefreiheit", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/barrierefreiheit"
    english = await get_page(https_client, "/barrierefreiheit")
    assert '<html lang="en">' in english.text
    assert "Accessibility statement" in english.text
    await https_client.get("/sprache/de?weiter=/barrierefreiheit", follow_redirects=False)
    german = await get_page(https_client, "/barrierefreiheit")
    assert '<html lang="de">' in german.text
    assert "Erklärung zur Barrierefreiheit" in german.text


async def test_language_switch_never_leaves_the_site(https_client: Client) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "/x?y=1"):
        response = await https_client.get("/sprache/en", params={"weiter": target}, follow_redirects=False)
        assert response.headers["location"] == "/", target
    unknown = await https_client.get("/sprache/fr?weiter=/", follow_redirects=False)
    assert unknown.status_code == 303
    assert "rs_lang=fr" not in unknown.headers.get("set-cookie", "")


async def test_sign_in_page_starts_a_cookie_session(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    response = await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    assert await _sessions(engine) == 1
    me = await https_client.get("/api/v1/auth/me")
    assert me.json()["username"] == "officer.dresden"


async def test_sign_in_returns_to_the_requested_page_only_within_the_site(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    response = await sign_in(
        https_client, demo_directory, Role.POLICE_OFFICER, identity_clock, next_path="//evil.example/x"
    )
    assert response.headers["location"] == "/"


async def test_sign_in_form_without_its_token_is_refused(
    https_client: Client, demo_directory: DemoDirectory, engine: AsyncEngine
) -> None:
    account = demo_directory.account(Role.POLICE_OFFICER)
    await get_page(https_client, "/anmelden")  # sets the form cookie
    data = {"username": account.username, "password": account.password}
    for token in (None, "forged-token-value-that-is-long-enough"):
        body = data if token is None else {**data, "_csrf": token}
        response = await post_form(https_client, "/anmelden", body)
        assert_html(response, 400)
        assert "Das Formular ist abgelaufen" in response.text
    assert await _sessions(engine) == 0


async def test_wrong_password_is_answered_in_german_next_to_the_form(
    https_client: Client, demo_directory: DemoDirectory, engine: AsyncEngine
) -> None:
    form = await get_page(https_client, "/anmelden")
    response = await post_form(
        https_client,
        "/anmelden",
        {"_csrf": csrf_of(form.text), "username": "officer.dresden", "password": "falsch"},
    )
    assert_html(response, 422)
    assert "Benutzername, Passwort oder Einmalcode sind nicht richtig." in response.text
    assert 'value="officer.dresden"' in response.text  # the username stays, the password does not
    assert "falsch" not in response.text
    assert await _sessions(engine) == 0


async def test_missing_fields_are_named_next_to_the_fields(https_client: Client) -> None:
    form = await get_page(https_client, "/anmelden")
    response = await post_form(https_client, "/anmelden", {"_csrf": csrf_of(form.text)})
    assert_html(response, 422)
    assert 'id="f-username-error"' in response.text
    assert 'id="f-password-error"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert 'href="#f-username"' in response.text  # the error summary links to the field


async def test_second_factor_is_required_where_the_role_needs_it(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    admin = demo_directory.account(Role.ADMIN)
    form = await get_page(https_client, "/anmelden")
    without = await post_form(
        https_client,
        "/anmelden",
        {"_csrf": csrf_of(form.text), "username": admin.username, "password": admin.password},
    )
    assert_html(without, 422)
    assert "Einmalcode" in text_of(without.text)
    response = await sign_in(https_client, demo_directory, Role.ADMIN, identity_clock)
    assert response.status_code == 303


async def test_sign_out_needs_the_session_csrf_token_and_ends_the_session(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    token = csrf_of((await get_page(https_client, "/polizei")).text)
    refused = await post_form(https_client, "/abmelden", {"_csrf": "forged"})
    assert_html(refused, 403)
    assert "Das Formular ist abgelaufen" in refused.text
    assert (await https_client.get("/api/v1/auth/me")).status_code == 200
    response = await post_form(https_client, "/abmelden", {"_csrf": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/anmelden?abgemeldet=1"
    assert (await https_client.get("/api/v1/auth/me")).status_code == 401
    signed_out = await get_page(https_client, "/anmelden?abgemeldet=1")
    assert "Sie sind abgemeldet." in signed_out.text


async def test_an_expired_session_leads_to_the_sign_in_page_with_a_german_explanation(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    token = csrf_of((await get_page(https_client, "/polizei")).text)
    identity_clock.advance(minutes=31)
    response = await post_form(https_client, "/abmelden", {"_csrf": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/anmelden?abgelaufen=1"
    assert f"{SESSION_COOKIE}=" in response.headers["set-cookie"]  # the dead cookie is removed
    login = await get_page(https_client, response.headers["location"])
    assert "Ihre Sitzung ist abgelaufen" in login.text


async def test_after_expiry_a_page_asks_for_sign_in_and_then_returns_to_itself(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    identity_clock.advance(minutes=31)
    expired = await get_page(https_client, "/polizei")
    assert expired.status_code == 303
    assert expired.headers["location"] == "/anmelden?weiter=%2Fpolizei&abgelaufen=1"
    login = await get_page(https_client, expired.headers["location"])
    assert "Ihre Sitzung ist abgelaufen" in login.text
    assert 'name="weiter" value="/polizei"' in login.text
    again = await sign_in(
        https_client, demo_directory, Role.POLICE_OFFICER, identity_clock, next_path="/polizei"
    )
    assert again.headers["location"] == "/polizei"


async def test_api_clients_keep_getting_problem_details_on_page_routes(https_client: Client) -> None:
    response = await https_client.post("/abmelden", json={})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "auth.unauthenticated"


async def test_signed_in_users_see_who_they_are_and_a_sign_out_button(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.AUDITOR, identity_clock)
    page_html = (await https_client.get("/", headers=HTML)).text
    assert "Angemeldet als auditor.sachsen" in page_html
    assert 'action="/abmelden"' in page_html


async def test_the_sign_in_page_sends_signed_in_users_on(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    response = await get_page(https_client, "/anmelden")
    assert response.status_code == 303


async def test_plain_http_gets_pages_too(identity_app: Litestar) -> None:
    # Behind a TLS-terminating proxy the app may see http; public pages still render.
    async with AsyncTestClient(app=identity_app) as plain:
        assert_html(await plain.get("/", headers=HTML))
