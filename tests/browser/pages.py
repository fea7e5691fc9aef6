"""Page helpers shared by the browser tests: signing in and out through the real forms."""

from __future__ import annotations

from typing import Any

from tests.browser.support import LiveServer


def sign_in(page: Any, server: LiveServer, username: str) -> None:
    page.goto(server.url("/anmelden"))
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(server.password(username))
    code = server.totp_code(username)
    if code is not None:
        page.get_by_label("Einmalcode").fill(code)
    with page.expect_navigation():
        page.get_by_role("button", name="Anmelden").click()
    assert "/anmelden" not in page.url, page.content()[:2000]


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Abmelden").click()
    page.wait_for_url("**/anmelden?abgemeldet=1")
