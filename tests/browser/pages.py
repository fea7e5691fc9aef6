"""Page helpers shared by the browser tests: signing in and out through the real forms."""

from __future__ import annotations

from typing import Any

from tests.browser.support import LiveServer

# Cookies of the last sign-in of each user with a second factor, by server. The service takes each TOTP
# step once and only after the last one used, so a fourth form sign-in of one user within 30 seconds would
# have to wait for the wall clock; later tests resume that user's session instead (the sign-in form itself
# is still used, and checked, by the first test of each such user and by the tests of the form).
_resumable: dict[tuple[str, str], list[Any]] = {}


def sign_in(page: Any, server: LiveServer, username: str, *, to_area: bool = True) -> None:
    """Sign in and land on the start page; with `to_area`, go on to the user's first working area, where
    most tests begin (the start page lists what waits, then the areas, working areas first)."""
    key = (server.base_url, username)
    if key in _resumable:
        page.context.add_cookies(_resumable[key])
        page.goto(server.url("/konto"))  # signed-in users only
        if "/anmelden" not in page.url:
            page.goto(server.url("/"))
            _to_first_area(page, to_area)
            return
        del _resumable[key]  # the session ended (signed out): sign in again
    page.goto(server.url("/anmelden"))
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(server.password(username))
    code = server.totp_code(username)
    if code is not None:
        page.get_by_label("Einmalcode").fill(code)
    with page.expect_navigation():
        page.get_by_role("button", name="Anmelden").click()
    assert "/anmelden" not in page.url, page.content()[:2000]
    if code is not None:
        _resumable[key] = page.context.cookies()
    _to_first_area(page, to_area)


def _to_first_area(page: Any, wanted: bool) -> None:
    first = page.locator("ul.start-areas a").first
    if wanted and first.count():
        with page.expect_navigation():
            first.click()


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Abmelden").click()
    page.wait_for_url("**/anmelden?abgemeldet=1")
