"""Administrator pages (users, units, roles, password reset) and the own-account pages ("Mein Konto") in
a real browser, with axe checks on every new page.

The server's database lives for the whole browser session, so these tests change only accounts they
create themselves, never the demo accounts that other browser tests sign in with.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

import pytest
from playwright.sync_api import expect

from referral_service.identity import totp
from tests.browser.pages import sign_in, sign_out
from tests.browser.support import AtBothWidths, LiveServer, assert_accessible

pytestmark = pytest.mark.browser

START_PASSWORD = "Ein langes Startpasswort"


def _create_account(page: Any, username: str, unit: str, role: str, *, check: str | None = None) -> None:
    """On the administrator's user list: choose the unit, then fill in and send the form that creates
    an account (with `check`, the second step is checked with axe under that name)."""
    page.get_by_label("Organisationseinheit").select_option(label=unit)
    page.get_by_role("button", name="Weiter zu Rolle und Zugangsdaten").click()
    page.locator("#f-role").wait_for()
    if check:
        assert_accessible(page, check)
    page.get_by_label("Benutzername").fill(username)
    page.locator("#f-display_name").fill(f"Testkonto {username}")
    page.locator("#f-role").select_option(label=role)
    page.get_by_label("Erstes Passwort").fill(START_PASSWORD)
    page.get_by_role("button", name="Konto anlegen").click()
    page.get_by_role("heading", name="Konto angelegt").wait_for()


def _sign_in_as(page: Any, server: LiveServer, username: str, password: str, code: str | None = None) -> None:
    page.goto(server.url("/anmelden"))
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(password)
    if code is not None:
        page.get_by_label("Einmalcode").fill(code)
    with page.expect_navigation():
        page.get_by_role("button", name="Anmelden").click()
    assert "/anmelden" not in page.url, page.content()[:2000]


def test_administrator_sees_users_and_units(page: Any, server: LiveServer) -> None:
    sign_in(page, server, "admin.sachsen")
    assert page.url.endswith("/verwaltung")
    assert_accessible(page, "admin-01-users")
    page.get_by_role("link", name="Organisationseinheiten").click()
    page.wait_for_url("**/verwaltung/einheiten")
    assert_accessible(page, "admin-02-units")
    page.get_by_role("link", name="Polizeirevier Dresden-Nord").first.click()
    page.get_by_role("heading", name="Polizeirevier Dresden-Nord").wait_for()
    assert_accessible(page, "admin-03-unit")


def test_administrator_manages_an_account(page: Any, server: LiveServer) -> None:
    username = f"browser.{secrets.token_hex(3)}"
    sign_in(page, server, "admin.sachsen")
    _create_account(
        page, username, "Polizeirevier Dresden-Mitte", "Polizei: Sachbearbeitung", check="admin-04-role-step"
    )
    assert_accessible(page, "admin-04-created")
    page.get_by_role("link", name=f"Zum Konto {username}").click()
    page.get_by_role("heading", name=f"Konto {username}").wait_for()
    assert_accessible(page, "admin-05-user")

    page.locator("#f-role").select_option(label="Polizei: Leitung")
    page.get_by_role("button", name="Rolle erteilen").click()
    page.get_by_text("Die Rolle ist erteilt.").wait_for()
    page.get_by_role("button", name="Rolle „Polizei: Sachbearbeitung“ entziehen").click()
    # Asked on a second page that says what follows, not in a script's dialog.
    page.get_by_role("heading", name=f"Rolle „Polizei: Sachbearbeitung“ von {username} entziehen?").wait_for()
    page.get_by_role("button", name="Ja, Rolle „Polizei: Sachbearbeitung“ entziehen").click()
    page.get_by_text("Die Rolle ist entzogen.").wait_for()

    # A refusal: the error summary takes the focus and links to the field.
    page.locator("#f-display_name").fill("")
    page.get_by_role("button", name="Namen speichern").click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    page.wait_for_function("() => document.activeElement.classList.contains('error-summary')")
    assert_accessible(page, "admin-06-user-error")
    summary.get_by_role("link").first.click()
    assert page.evaluate("() => document.activeElement.id") == "f-display_name"
    page.locator("#f-display_name").fill("Umbenanntes Testkonto")
    page.get_by_role("button", name="Namen speichern").click()
    page.get_by_text("Der Anzeigename ist geändert.").wait_for()

    page.get_by_role("button", name="Neues Passwort erzeugen").click()
    page.get_by_role("button", name="Ja, neues Passwort erzeugen").click()
    page.get_by_role("heading", name="Passwort zurückgesetzt").wait_for()
    new_password = page.locator(".access-data").first.inner_text().strip()
    assert len(new_password) >= 12
    assert_accessible(page, "admin-07-password-reset")
    sign_out(page)
    _sign_in_as(page, server, username, new_password)
    page.get_by_role("link", name="Mein Konto").click()
    assert "Polizei: Leitung" in page.locator("dl").first.inner_text()


def test_deactivating_an_account_asks_on_a_second_page(page: Any, server: LiveServer) -> None:
    username = f"inaktiv.{secrets.token_hex(3)}"
    sign_in(page, server, "admin.sachsen")
    _create_account(page, username, "Polizeirevier Dresden-Mitte", "Polizei: Sachbearbeitung")
    page.get_by_role("link", name=f"Zum Konto {username}").click()
    page.get_by_role("button", name=f"{username} deaktivieren").click()
    heading = page.get_by_role("heading", name=f"Konto {username} deaktivieren?")
    heading.wait_for()
    page.wait_for_function("() => document.activeElement.id === 'confirm-title'")
    assert_accessible(page, "admin-08-confirm-deactivate")
    page.get_by_role("link", name="Abbrechen, nichts ändern").click()
    page.get_by_role("button", name=f"{username} deaktivieren").click()
    page.get_by_role("button", name=f"Ja, {username} deaktivieren").click()
    page.get_by_role("button", name=f"{username} aktivieren").wait_for()


def test_revoking_a_role_and_resetting_a_password_ask_on_accessible_pages(
    page: Any, server: LiveServer
) -> None:
    states = AtBothWidths(page, "admin")
    username = f"frage.{secrets.token_hex(3)}"
    sign_in(page, server, "admin.sachsen")
    _create_account(page, username, "Polizeirevier Dresden-Mitte", "Polizei: Sachbearbeitung")
    page.get_by_role("link", name=f"Zum Konto {username}").click()
    page.locator("#f-role").select_option(label="Polizei: Leitung")
    page.get_by_role("button", name="Rolle erteilen").click()
    page.get_by_text("Die Rolle ist erteilt.").wait_for()

    page.get_by_role("button", name="Rolle „Polizei: Leitung“ entziehen").click()
    page.get_by_role("heading", name=f"Rolle „Polizei: Leitung“ von {username} entziehen?").wait_for()
    page.wait_for_function("() => document.activeElement.id === 'confirm-title'")
    expect(page.get_by_text("verliert die Rolle sofort")).to_be_visible()
    states.check("confirm-revoke")
    page.get_by_role("link", name="Abbrechen, nichts ändern").click()
    expect(page.locator("dl").first).to_contain_text("Polizei: Sachbearbeitung, Polizei: Leitung")

    page.get_by_label("Auch den zweiten Faktor zurücksetzen").check()
    page.get_by_role("button", name="Neues Passwort erzeugen").click()
    page.get_by_role("heading", name=f"Passwort von {username} zurücksetzen?").wait_for()
    expect(page.get_by_text("Auch der zweite Faktor wird entfernt")).to_be_visible()
    states.check("confirm-reset")
    page.get_by_role("link", name="Abbrechen, nichts ändern").click()
    page.get_by_role("heading", name=f"Konto {username}").wait_for()
    expect(page.locator(".access-data")).to_have_count(0)  # no new password: nothing was reset


def test_a_user_changes_password_and_sets_up_a_second_factor(page: Any, server: LiveServer) -> None:
    username = f"konto.{secrets.token_hex(3)}"
    sign_in(page, server, "admin.sachsen")
    _create_account(page, username, "WEISSER RING Außenstelle Dresden", "WEISSER RING: Ehrenamt")
    sign_out(page)
    _sign_in_as(page, server, username, START_PASSWORD)

    page.get_by_role("link", name="Mein Konto").click()
    page.get_by_role("heading", name="Mein Konto", exact=True).wait_for()
    assert username in page.locator("dl").first.inner_text()
    assert_accessible(page, "account-01-overview")

    # By keyboard alone: type, Tab to the next field, Enter sends the form.
    new_password = "Ein neuer, langer Passwortsatz"
    page.locator("#f-current_password").focus()
    page.keyboard.type(START_PASSWORD)
    page.keyboard.press("Tab")
    page.keyboard.type(new_password)
    page.keyboard.press("Tab")
    page.keyboard.type(new_password + "x")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.locator(".error-summary").wait_for()
    assert "stimmen nicht überein" in page.locator(".error-summary").inner_text()
    assert_accessible(page, "account-02-password-errors")
    page.locator("#f-current_password").fill(START_PASSWORD)
    page.locator("#f-new_password").fill(new_password)
    page.locator("#f-new_password_repeat").fill(new_password)
    page.get_by_role("button", name="Passwort ändern").click()
    page.get_by_text("Ihr Passwort ist geändert.").wait_for()
    assert_accessible(page, "account-03-password-changed")

    page.locator("#f-totp_password").fill(new_password)
    page.get_by_role("button", name="Zweiten Faktor einrichten").click()
    page.get_by_role("heading", name="Zweiten Faktor einrichten").wait_for()
    qr = page.get_by_role("img", name=re.compile("QR-Code"))
    assert qr.evaluate("img => img.complete && img.naturalWidth > 100")
    assert_accessible(page, "account-04-totp")
    secret = totp.from_base32(page.locator(".access-data").inner_text())
    code = totp.current_code(secret, dt.datetime.now(dt.UTC))
    page.get_by_label("Code aus der App").fill(code)
    page.get_by_role("button", name="Zweiten Faktor aktivieren").click()
    page.get_by_text("Der neue zweite Faktor ist aktiv.").wait_for()
    assert "eingerichtet" in page.locator("dl").first.inner_text()
    sign_out(page)


def test_the_qr_code_shows_under_the_real_content_security_policy(
    strict_page: Any, server: LiveServer
) -> None:
    page = strict_page
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    sign_in(page, server, "admin.sachsen")
    _create_account(
        page,
        f"landesbuero.{secrets.token_hex(3)}",
        "WEISSER RING Landesbüro Sachsen",
        "WEISSER RING: Landesbüro",
    )
    qr = page.get_by_role("img", name=re.compile("QR-Code"))
    assert qr.evaluate("img => img.complete && img.naturalWidth > 100")
    assert not problems, problems
