"""Own-account pages ("Mein Konto"): who am I, a new password, a new second factor."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.audit.models import AuditEvent
from referral_service.identity import totp
from referral_service.identity.roles import Role
from referral_service.web.account import qr_code_data_uri
from tests.identity.support import DemoDirectory, FakeClock, mint_token
from tests.web.support import (
    Client,
    assert_html,
    csrf_of,
    get_page,
    post_form,
    sign_in,
    text_of,
)

NEW_PASSWORD = "Ein ganz neuer Satz als Passwort"


async def _events(engine: AsyncEngine) -> list[tuple[str, str]]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(AuditEvent.action, AuditEvent.outcome))  # type: ignore[call-overload]
        return [(action, str(outcome)) for action, outcome in rows]


async def _page_sign_in(client: Client, username: str, password: str, code: str | None = None) -> int:
    """Signs in through the sign-in page; the status of the answer (303 on success)."""
    form = await get_page(client, "/anmelden")
    data = {"_csrf": csrf_of(form.text), "username": username, "password": password}
    if code is not None:
        data["totp_code"] = code
    return int((await post_form(client, "/anmelden", data)).status_code)


def _shown_secret(page_html: str) -> bytes:
    found = re.search(r'class="access-data">([A-Z2-7 ]+)</dd>', page_html)
    assert found, "no secret on the page"
    return totp.from_base32(found.group(1))


@pytest.mark.parametrize(
    ("role", "unit_name", "role_label", "second_factor"),
    [
        (Role.POLICE_OFFICER, "Polizeirevier Dresden-Nord", "Polizei: Sachbearbeitung", "nicht eingerichtet"),
        (
            Role.WR_VOLUNTEER,
            "WEISSER RING Außenstelle Dresden",
            "WEISSER RING: Ehrenamt",
            "nicht eingerichtet",
        ),
        (
            Role.COMPLAINTS_LEAD,
            "Zentrale Beschwerdestelle der Polizei Sachsen",
            "Beschwerdestelle: Leitung",
            "eingerichtet",
        ),
        (Role.ADMIN, "Freistaat Sachsen", "Administration", "eingerichtet"),
    ],
)
async def test_every_signed_in_user_sees_their_own_account(
    https_client: Client,
    demo_directory: DemoDirectory,
    identity_clock: FakeClock,
    role: Role,
    unit_name: str,
    role_label: str,
    second_factor: str,
) -> None:
    await sign_in(https_client, demo_directory, role, identity_clock)
    home = await get_page(https_client, "/")  # the start page: what waits, and the areas
    assert '<a href="/konto">Mein Konto</a>' in home.text  # in the page header, on every page
    account = await get_page(https_client, "/konto")
    assert_html(account)
    text = text_of(account.text)
    me = demo_directory.account(role)
    assert f"Benutzername {me.username}" in text
    assert f"Organisationseinheit {unit_name}" in text
    assert f"Rollen {role_label}" in text
    assert f"Zweiter Faktor {second_factor}" in text
    assert 'action="/konto/passwort"' in account.text
    assert 'action="/konto/zweiter-faktor"' in account.text
    assert me.password not in account.text


async def test_the_account_page_needs_a_session(https_client: Client, demo_directory: DemoDirectory) -> None:
    response = await get_page(https_client, "/konto")
    assert response.status_code == 303
    assert response.headers["location"] == "/anmelden?weiter=%2Fkonto"


async def test_a_user_changes_their_password(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    officer = demo_directory.account(Role.POLICE_OFFICER)
    other_session = await mint_token(engine, officer.user_id, https_client.app.state.identity)
    await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    token = csrf_of((await get_page(https_client, "/konto")).text)
    changed = await post_form(
        https_client,
        "/konto/passwort",
        {
            "_csrf": token,
            "current_password": officer.password,
            "new_password": NEW_PASSWORD,
            "new_password_repeat": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 303
    assert changed.headers["location"] == "/konto?meldung=passwort_geaendert"
    after = await get_page(https_client, "/konto?meldung=passwort_geaendert")
    assert_html(after)  # still signed in here
    assert "Ihr Passwort ist geändert." in after.text
    # Every other session and token of the account has ended.
    me = await https_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {other_session}"})
    assert me.status_code == 401
    assert ("identity:user:change_password", "success") in await _events(engine)

    https_client.cookies.clear()
    assert await _page_sign_in(https_client, officer.username, officer.password) == 422
    assert await _page_sign_in(https_client, officer.username, NEW_PASSWORD) == 303


async def test_password_change_refusals_are_shown_on_the_page(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    officer = demo_directory.account(Role.POLICE_OFFICER)
    await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    token = csrf_of((await get_page(https_client, "/konto")).text)

    async def attempt(current: str, new: str, repeated: str) -> str:
        response = await post_form(
            https_client,
            "/konto/passwort",
            {
                "_csrf": token,
                "current_password": current,
                "new_password": new,
                "new_password_repeat": repeated,
            },
        )
        assert_html(response, 422)
        assert current not in response.text
        assert new not in response.text
        return str(response.text)

    wrong = await attempt("not-my-password-at-all", NEW_PASSWORD, NEW_PASSWORD)
    assert 'id="f-current_password-error"' in wrong
    assert "Das aktuelle Passwort ist nicht korrekt." in wrong
    assert 'href="#f-current_password"' in wrong  # the error summary links to the field
    too_short = await attempt(officer.password, "Ab3$efg", "Ab3$efg")
    assert 'id="f-new_password-error"' in too_short
    with_username = f"mein {officer.username} passwort"
    assert 'id="f-new_password-error"' in await attempt(officer.password, with_username, with_username)
    unchanged = await attempt(officer.password, officer.password, officer.password)
    assert "Das neue Passwort muss sich vom bisherigen unterscheiden." in unchanged
    mismatch = await attempt(officer.password, NEW_PASSWORD, NEW_PASSWORD + "!")
    assert 'id="f-new_password_repeat-error"' in mismatch
    assert "Die beiden neuen Passwörter stimmen nicht überein." in mismatch
    missing = await post_form(https_client, "/konto/passwort", {"_csrf": token})
    assert_html(missing, 422)
    for field in ("current_password", "new_password", "new_password_repeat"):
        assert f'id="f-{field}-error"' in missing.text

    # Nothing changed: the old password still signs in.
    https_client.cookies.clear()
    assert await _page_sign_in(https_client, officer.username, officer.password) == 303
    assert ("identity:user:change_password", "failure") in await _events(engine)


async def test_wrong_current_passwords_count_towards_the_sign_in_throttle(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    officer = demo_directory.account(Role.POLICE_OFFICER)
    await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    token = csrf_of((await get_page(https_client, "/konto")).text)
    form = {"_csrf": token, "new_password": NEW_PASSWORD, "new_password_repeat": NEW_PASSWORD}
    for _ in range(5):
        await post_form(https_client, "/konto/passwort", {**form, "current_password": "a-wrong-guess-1"})
    # A stolen session is no way to guess the password: now even the right one is refused.
    locked = await post_form(https_client, "/konto/passwort", {**form, "current_password": officer.password})
    assert_html(locked, 429)
    assert "retry-after" in locked.headers
    assert "für einige Minuten gesperrt" in locked.text
    totp_locked = await post_form(
        https_client, "/konto/zweiter-faktor", {"_csrf": token, "totp_password": officer.password}
    )
    assert_html(totp_locked, 429)
    # The throttle is the sign-in's: signing in is locked too.
    https_client.cookies.clear()
    assert await _page_sign_in(https_client, officer.username, officer.password) == 429


async def test_confirmation_codes_cannot_be_guessed_with_a_stolen_session(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    volunteer = demo_directory.account(Role.WR_VOLUNTEER)
    await sign_in(https_client, demo_directory, Role.WR_VOLUNTEER, identity_clock)
    token = csrf_of((await get_page(https_client, "/konto")).text)
    started = await post_form(
        https_client, "/konto/zweiter-faktor", {"_csrf": token, "totp_password": volunteer.password}
    )
    assert_html(started)
    secret = _shown_secret(started.text)
    confirm = "/konto/zweiter-faktor/bestaetigen"
    for _ in range(5):
        wrong = await post_form(https_client, confirm, {"_csrf": token, "totp_code": "000000"})
        assert_html(wrong, 422)
    # Every wrong code is audited, and they count towards the sign-in throttle: now even the right
    # code is refused for a while.
    failures = [e for e in await _events(engine) if e == ("identity:totp:enrol", "failure")]
    assert len(failures) == 5
    code = totp.current_code(secret, identity_clock.now())
    locked = await post_form(https_client, confirm, {"_csrf": token, "totp_code": code})
    assert_html(locked, 429)
    assert "retry-after" in locked.headers
    assert "Zweiter Faktor nicht eingerichtet" in text_of((await get_page(https_client, "/konto")).text)


async def test_a_user_sets_up_a_second_factor_confirmed_by_a_code(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    volunteer = demo_directory.account(Role.WR_VOLUNTEER)
    await sign_in(https_client, demo_directory, Role.WR_VOLUNTEER, identity_clock)
    token = csrf_of((await get_page(https_client, "/konto")).text)

    wrong = await post_form(
        https_client, "/konto/zweiter-faktor", {"_csrf": token, "totp_password": "falsch-1234"}
    )
    assert_html(wrong, 422)
    assert 'id="f-totp_password-error"' in wrong.text
    assert "otpauth://" not in wrong.text

    started = await post_form(
        https_client, "/konto/zweiter-faktor", {"_csrf": token, "totp_password": volunteer.password}
    )
    assert_html(started)
    secret = _shown_secret(started.text)
    uri = html.unescape(re.search(r'<code class="hash">([^<]+)</code>', started.text).group(1))  # type: ignore[union-attr]
    assert uri.startswith("otpauth://totp/")
    assert f"secret={totp.to_base32(secret)}" in uri
    # The QR code is drawn on the server, an image the page's Content-Security-Policy allows (img-src data:).
    qr = re.search(r'<img src="([^"]+)" alt="QR-Code', started.text)
    assert qr
    assert html.unescape(qr.group(1)) == qr_code_data_uri(uri)
    assert qr.group(1).startswith("data:image/svg+xml")
    # Until confirmed, nothing changes.
    assert "Zweiter Faktor nicht eingerichtet" in text_of((await get_page(https_client, "/konto")).text)

    bad_code = await post_form(
        https_client, "/konto/zweiter-faktor/bestaetigen", {"_csrf": token, "totp_code": "000000"}
    )
    assert_html(bad_code, 422)
    assert 'id="f-totp_code-error"' in bad_code.text
    assert totp.to_base32(secret)[:8] not in bad_code.text.replace(" ", "")  # not shown again
    code = totp.current_code(secret, identity_clock.now())
    confirmed = await post_form(
        https_client, "/konto/zweiter-faktor/bestaetigen", {"_csrf": token, "totp_code": code}
    )
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == "/konto?meldung=zweiter_faktor_eingerichtet"
    assert "Zweiter Faktor eingerichtet" in text_of((await get_page(https_client, "/konto")).text)
    actions = [action for action, _ in await _events(engine)]
    assert "identity:totp:enrol_start" in actions
    assert "identity:totp:enrol" in actions

    # From now on, signing in needs a code from the new authenticator.
    https_client.cookies.clear()
    identity_clock.advance(seconds=30)
    assert await _page_sign_in(https_client, volunteer.username, volunteer.password) == 422
    fresh = totp.current_code(secret, identity_clock.now())
    assert await _page_sign_in(https_client, volunteer.username, volunteer.password, fresh) == 303


async def test_replacing_the_second_factor_retires_the_old_one(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    lead = demo_directory.account(Role.COMPLAINTS_LEAD)
    assert lead.totp_secret is not None
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    account = await get_page(https_client, "/konto")
    assert "Zweiten Faktor neu einrichten" in account.text
    token = csrf_of(account.text)
    # Without a set-up in progress there is nothing to confirm.
    nothing = await post_form(
        https_client, "/konto/zweiter-faktor/bestaetigen", {"_csrf": token, "totp_code": "123456"}
    )
    assert_html(nothing, 409)
    assert "Es läuft keine Einrichtung." in nothing.text

    started = await post_form(
        https_client, "/konto/zweiter-faktor", {"_csrf": token, "totp_password": lead.password}
    )
    assert_html(started)
    assert "gilt Ihr bisheriger zweiter Faktor weiter" in started.text
    new_secret = _shown_secret(started.text)
    identity_clock.advance(seconds=30)
    confirmed = await post_form(
        https_client,
        "/konto/zweiter-faktor/bestaetigen",
        {"_csrf": token, "totp_code": totp.current_code(new_secret, identity_clock.now())},
    )
    assert confirmed.status_code == 303

    https_client.cookies.clear()
    identity_clock.advance(seconds=30)
    old_code = totp.current_code(lead.totp_secret, identity_clock.now())
    assert await _page_sign_in(https_client, lead.username, lead.password, old_code) == 422
    new_code = totp.current_code(new_secret, identity_clock.now())
    assert await _page_sign_in(https_client, lead.username, lead.password, new_code) == 303


async def test_account_forms_need_the_session_token(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    officer = demo_directory.account(Role.POLICE_OFFICER)
    await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    forged = await post_form(
        https_client,
        "/konto/passwort",
        {
            "current_password": officer.password,
            "new_password": NEW_PASSWORD,
            "new_password_repeat": NEW_PASSWORD,
        },
    )
    assert_html(forged, 403)
    https_client.cookies.clear()
    assert await _page_sign_in(https_client, officer.username, officer.password) == 303
