"""Administrator pages: users (create, rename, roles, password reset, disable) and units (create, rename).

Every change goes through the identity service, so its rules come back as messages on the page and
every change is audited; every other role reads at most, and changes nothing.
"""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.audit.models import AuditEvent
from referral_service.identity import totp
from referral_service.identity.roles import Role, UnitKind
from referral_service.web.admin import grantable_roles
from tests.identity.support import DemoDirectory, FakeClock, mint_token
from tests.web.support import (
    Client,
    assert_error_summary,
    assert_html,
    csrf_of,
    get_page,
    post_form,
    sign_in,
    text_of,
)


async def _actions(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.execute(select(AuditEvent.action))).scalars())  # type: ignore[call-overload]


async def _admin(client: Client, demo_directory: DemoDirectory, clock: FakeClock) -> str:
    """Signs the administrator in; the session's form token."""
    await sign_in(client, demo_directory, Role.ADMIN, clock)
    return csrf_of((await get_page(client, "/verwaltung")).text)


async def _page_sign_in(client: Client, username: str, password: str, code: str | None = None) -> int:
    form = await get_page(client, "/anmelden")
    data = {"_csrf": csrf_of(form.text), "username": username, "password": password}
    if code is not None:
        data["totp_code"] = code
    return int((await post_form(client, "/anmelden", data)).status_code)


def _shown(page_html: str) -> list[str]:
    """The credentials a page shows once (new password, second-factor secret), in order."""
    return re.findall(r'class="access-data">([^<]+)</dd>', page_html)


async def test_the_administrator_manages_users_and_units(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    token = await _admin(https_client, demo_directory, identity_clock)
    users = await get_page(https_client, "/verwaltung")
    assert_html(users)
    assert "officer.dresden" in users.text
    assert "admin.sachsen deaktivieren" not in users.text  # not oneself
    officer = demo_directory.account(Role.POLICE_OFFICER)
    assert f'href="/verwaltung/benutzer/{officer.user_id}"' in users.text
    branch = demo_directory.unit("wr-dresden")
    new_user = {
        "_csrf": token,
        "username": "volunteer.neu",
        "display_name": "Neue Ehrenamtliche Person",
        "unit_id": str(branch.id),
        "role": "wr_volunteer",
        "password": "Ein-langes-Startpasswort",
    }
    created = await post_form(https_client, "/verwaltung/benutzer", new_user)
    assert_html(created, 201)
    assert "Konto angelegt" in created.text
    assert "Zweiter Faktor" not in created.text
    taken = await post_form(https_client, "/verwaltung/benutzer", new_user)
    assert_html(taken, 409)
    assert 'id="f-username-error"' in taken.text
    assert "Ein-langes-Startpasswort" not in taken.text  # the password is never echoed
    wrong_unit = await post_form(
        https_client,
        "/verwaltung/benutzer",
        {**new_user, "username": "volunteer.zwei", "role": "police_officer"},
    )
    assert 'id="f-role-error"' in wrong_unit.text
    too_long = await post_form(
        https_client,
        "/verwaltung/benutzer",
        {**new_user, "username": "volunteer.drei", "display_name": "x" * 121},
    )
    assert_html(too_long, 422)
    assert 'id="f-display_name-error"' in too_long.text
    office = demo_directory.unit("wr-sn")
    with_totp = await post_form(
        https_client,
        "/verwaltung/benutzer",
        {**new_user, "username": "landesbuero.neu", "unit_id": str(office.id), "role": "wr_state_office"},
    )
    assert_html(with_totp, 201)
    assert "Zweiter Faktor: nur jetzt sichtbar" in with_totp.text
    assert "otpauth://totp/" in with_totp.text
    assert '<img src="data:image/svg+xml' in with_totp.text  # the QR code

    disabled = await post_form(
        https_client,
        f"/verwaltung/benutzer/{officer.user_id}/aktiv",
        {"_csrf": token, "active": "0", "confirmed": "1"},
    )
    assert disabled.headers["location"] == "/verwaltung?meldung=benutzer_deaktiviert"
    assert "officer.dresden aktivieren" in (await get_page(https_client, "/verwaltung")).text

    units = await get_page(https_client, "/verwaltung/einheiten")
    assert_html(units)
    assert "Polizeirevier Dresden-Nord" in units.text
    directorate = demo_directory.unit("pd-dresden")
    created_unit = await post_form(
        https_client,
        "/verwaltung/einheiten",
        {
            "_csrf": token,
            "name": "Polizeirevier Pirna",
            "code": "rev-pirna",
            "kind": "police_station",
            "parent_id": str(directorate.id),
        },
    )
    assert created_unit.headers["location"] == "/verwaltung/einheiten?meldung=einheit_angelegt"
    misplaced = await post_form(
        https_client,
        "/verwaltung/einheiten",
        {
            "_csrf": token,
            "name": "Falsch",
            "code": "falsch",
            "kind": "wr_branch",
            "parent_id": str(directorate.id),
        },
    )
    assert_html(misplaced, 422)
    assert 'id="f-parent_id-error"' in misplaced.text


async def test_the_create_forms_report_every_error_in_page_order_under_their_labels(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    token = await _admin(https_client, demo_directory, identity_clock)
    branch = demo_directory.unit("wr-dresden")
    # The second step (the unit chosen) sent empty: every field at once, as they stand on the page.
    empty_account = await post_form(
        https_client, "/verwaltung/benutzer", {"_csrf": token, "unit_id": str(branch.id)}
    )
    assert_html(empty_account, 422)
    assert assert_error_summary(empty_account.text) == ["username", "display_name", "role", "password"]
    assert "Erstes Passwort: Bitte füllen Sie dieses Feld aus." in text_of(empty_account.text)
    # Without a unit the page is back at the first step: its one field carries the message.
    no_unit = await post_form(https_client, "/verwaltung/benutzer", {"_csrf": token})
    assert_html(no_unit, 422)
    assert assert_error_summary(no_unit.text) == ["einheit"]

    empty_unit = await post_form(https_client, "/verwaltung/einheiten", {"_csrf": token})
    assert_html(empty_unit, 422)
    assert assert_error_summary(empty_unit.text) == ["name", "code", "kind"]

    officer = demo_directory.account(Role.POLICE_OFFICER)
    unnamed = await post_form(
        https_client, f"/verwaltung/benutzer/{officer.user_id}/name", {"_csrf": token, "display_name": ""}
    )
    assert assert_error_summary(unnamed.text) == ["display_name"]
    station = demo_directory.unit("rev-dresden-nord")
    unnamed_unit = await post_form(https_client, f"/verwaltung/einheiten/{station.id}/name", {"_csrf": token})
    assert assert_error_summary(unnamed_unit.text) == ["name"]


async def test_the_user_page_shows_the_account_and_its_forms(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await _admin(https_client, demo_directory, identity_clock)
    officer = demo_directory.account(Role.POLICE_OFFICER)
    detail = await get_page(https_client, f"/verwaltung/benutzer/{officer.user_id}")
    assert_html(detail)
    text = text_of(detail.text)
    assert "Konto officer.dresden" in text
    assert "Polizeirevier Dresden-Nord (Polizeirevier)" in text
    for action in ("name", "rollen", "passwort", "aktiv"):
        assert f'action="/verwaltung/benutzer/{officer.user_id}/{action}"' in detail.text
    # An account's only role cannot be revoked, so there is no button for it.
    assert "/rollen/entziehen" not in detail.text
    assert "Die einzige Rolle eines Kontos kann nicht entzogen werden" in detail.text
    # Only roles that fit a police station and the officer's other roles are offered.
    assert '<option value="police_supervisor">' in detail.text
    assert '<option value="wr_volunteer">' not in detail.text
    assert '<option value="auditor">' not in detail.text
    unknown = await get_page(https_client, f"/verwaltung/benutzer/{uuid.uuid4()}")
    assert_html(unknown, 404)


def test_the_form_offers_only_roles_the_service_would_grant() -> None:
    assert grantable_roles(frozenset({Role.POLICE_OFFICER}), UnitKind.POLICE_STATION) == [
        Role.POLICE_SUPERVISOR
    ]
    assert grantable_roles(frozenset({Role.WR_VOLUNTEER}), UnitKind.WR_BRANCH) == [Role.WR_BRANCH_LEAD]
    assert grantable_roles(frozenset({Role.AUDITOR}), UnitKind.STATE) == []
    assert grantable_roles(frozenset({Role.COMPLAINTS_HANDLER}), UnitKind.COMPLAINTS_OFFICE) == [
        Role.COMPLAINTS_LEAD
    ]


async def test_the_administrator_grants_and_revokes_roles(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    token = await _admin(https_client, demo_directory, identity_clock)
    officer = demo_directory.account(Role.POLICE_OFFICER)
    user_page = f"/verwaltung/benutzer/{officer.user_id}"

    granted = await post_form(
        https_client, f"{user_page}/rollen", {"_csrf": token, "role": "police_supervisor"}
    )
    assert granted.status_code == 303
    assert granted.headers["location"] == f"{user_page}?meldung=rolle_erteilt"
    after = text_of((await get_page(https_client, user_page)).text)
    assert "Rollen Polizei: Sachbearbeitung, Polizei: Leitung" in after
    assert 'value="police_officer"' in (await get_page(https_client, user_page)).text  # revocable now

    revoked = await post_form(
        https_client,
        f"{user_page}/rollen/entziehen",
        {"_csrf": token, "revoke_role": "police_officer", "confirmed": "1"},
    )
    assert revoked.headers["location"] == f"{user_page}?meldung=rolle_entzogen"
    assert "Rollen Polizei: Leitung" in text_of((await get_page(https_client, user_page)).text)
    actions = await _actions(engine)
    assert "identity:role:grant" in actions
    assert "identity:role:revoke" in actions

    # The service's rules, as messages next to the form they concern.
    last = await post_form(
        https_client, f"{user_page}/rollen/entziehen", {"_csrf": token, "revoke_role": "police_supervisor"}
    )
    assert_html(last, 409)
    assert 'id="f-revoke_role-error"' in last.text
    assert "Die letzte Rolle kann nicht entzogen werden." in last.text
    not_held = await post_form(
        https_client, f"{user_page}/rollen/entziehen", {"_csrf": token, "revoke_role": "police_officer"}
    )
    assert_html(not_held, 409)
    assert "Diese Rolle hat das Konto nicht (mehr)." in not_held.text
    wrong_kind = await post_form(
        https_client, f"{user_page}/rollen", {"_csrf": token, "role": "wr_volunteer"}
    )
    assert_html(wrong_kind, 422)
    assert 'id="f-role-error"' in wrong_kind.text
    assert "Diese Rolle passt nicht zur Art der Organisationseinheit." in wrong_kind.text
    conflict = await post_form(https_client, f"{user_page}/rollen", {"_csrf": token, "role": "auditor"})
    assert_html(conflict, 409)
    assert "Diese Rollen lassen sich nicht verbinden." in conflict.text
    nonsense = await post_form(https_client, f"{user_page}/rollen", {"_csrf": token, "role": "superuser"})
    assert_html(nonsense, 422)
    assert 'id="f-role-error"' in nonsense.text
    assert "Rollen Polizei: Leitung" in text_of((await get_page(https_client, user_page)).text)


async def test_a_role_that_needs_a_second_factor_brings_one_shown_once(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    token = await _admin(https_client, demo_directory, identity_clock)
    handler = demo_directory.account(Role.COMPLAINTS_HANDLER)
    granted = await post_form(
        https_client,
        f"/verwaltung/benutzer/{handler.user_id}/rollen",
        {"_csrf": token, "role": "complaints_lead"},
    )
    assert_html(granted)
    assert "Rolle erteilt" in granted.text
    assert '<img src="data:image/svg+xml' in granted.text
    (secret_text,) = _shown(granted.text)
    secret = totp.from_base32(secret_text)

    https_client.cookies.clear()
    assert await _page_sign_in(https_client, handler.username, handler.password) == 422
    code = totp.current_code(secret, identity_clock.now())
    assert await _page_sign_in(https_client, handler.username, handler.password, code) == 303


async def test_the_administrator_resets_a_password(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    token = await _admin(https_client, demo_directory, identity_clock)
    officer = demo_directory.account(Role.POLICE_OFFICER)
    officer_token = await mint_token(engine, officer.user_id, https_client.app.state.identity)
    reset = await post_form(
        https_client, f"/verwaltung/benutzer/{officer.user_id}/passwort", {"_csrf": token, "confirmed": "1"}
    )
    assert_html(reset)  # answered directly: the password is in no URL
    assert reset.headers["cache-control"] == "no-store"
    assert "Neues Passwort: nur jetzt sichtbar" in reset.text
    (new_password,) = _shown(reset.text)
    assert len(new_password) >= 12
    assert "identity:user:reset_password" in await _actions(engine)
    # The officer is signed out everywhere, and only the new password signs in.
    me = await https_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {officer_token}"})
    assert me.status_code == 401
    https_client.cookies.clear()
    assert await _page_sign_in(https_client, officer.username, officer.password) == 422
    assert await _page_sign_in(https_client, officer.username, new_password) == 303


async def test_a_reset_can_replace_a_lost_second_factor(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    token = await _admin(https_client, demo_directory, identity_clock)
    auditor = demo_directory.account(Role.AUDITOR)
    assert auditor.totp_secret is not None
    reset = await post_form(
        https_client,
        f"/verwaltung/benutzer/{auditor.user_id}/passwort",
        {"_csrf": token, "reset_totp": "on", "confirmed": "1"},
    )
    assert_html(reset)
    new_password, secret_text = _shown(reset.text)
    new_secret = totp.from_base32(secret_text)
    assert '<img src="data:image/svg+xml' in reset.text

    https_client.cookies.clear()
    identity_clock.advance(seconds=30)
    old_code = totp.current_code(auditor.totp_secret, identity_clock.now())
    assert await _page_sign_in(https_client, auditor.username, new_password, old_code) == 422
    new_code = totp.current_code(new_secret, identity_clock.now())
    assert await _page_sign_in(https_client, auditor.username, new_password, new_code) == 303


async def test_the_administrator_renames_users_and_units(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    token = await _admin(https_client, demo_directory, identity_clock)
    officer = demo_directory.account(Role.POLICE_OFFICER)
    user_page = f"/verwaltung/benutzer/{officer.user_id}"
    renamed = await post_form(
        https_client, f"{user_page}/name", {"_csrf": token, "display_name": "  Neuer Name  "}
    )
    assert renamed.headers["location"] == f"{user_page}?meldung=name_geaendert"
    assert "Anzeigename Neuer Name" in text_of((await get_page(https_client, user_page)).text)
    empty = await post_form(https_client, f"{user_page}/name", {"_csrf": token, "display_name": " "})
    assert_html(empty, 422)
    assert 'id="f-display_name-error"' in empty.text
    too_long = await post_form(https_client, f"{user_page}/name", {"_csrf": token, "display_name": "x" * 121})
    assert_html(too_long, 422)

    station = demo_directory.unit("rev-dresden-nord")
    unit_page = f"/verwaltung/einheiten/{station.id}"
    shown = await get_page(https_client, unit_page)
    assert_html(shown)
    assert "officer.dresden" in shown.text  # the unit's accounts
    assert "Polizeidirektion Dresden" in shown.text  # its parent
    renamed_unit = await post_form(
        https_client, f"{unit_page}/name", {"_csrf": token, "name": "Polizeirevier Dresden-Nord (Neubau)"}
    )
    assert renamed_unit.headers["location"] == f"{unit_page}?meldung=einheit_umbenannt"
    units = await get_page(https_client, "/verwaltung/einheiten")
    assert "Polizeirevier Dresden-Nord (Neubau)" in units.text
    assert "/sn/pd-dresden/rev-dresden-nord/" in units.text  # the code and path stay
    empty_unit = await post_form(https_client, f"{unit_page}/name", {"_csrf": token, "name": ""})
    assert_html(empty_unit, 422)
    assert 'id="f-name-error"' in empty_unit.text
    actions = await _actions(engine)
    assert "identity:user:update" in actions
    assert "identity:unit:update" in actions
    assert_html(await get_page(https_client, f"/verwaltung/einheiten/{uuid.uuid4()}"), 404)


async def test_the_administrator_disables_and_enables_from_the_user_page(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    token = await _admin(https_client, demo_directory, identity_clock)
    volunteer = demo_directory.account(Role.WR_VOLUNTEER)
    user_page = f"/verwaltung/benutzer/{volunteer.user_id}"
    disabled = await post_form(
        https_client,
        f"{user_page}/aktiv",
        {"_csrf": token, "active": "0", "zurueck": "benutzer", "confirmed": "1"},
    )
    assert disabled.headers["location"] == f"{user_page}?meldung=benutzer_deaktiviert"
    page = await get_page(https_client, disabled.headers["location"])
    assert "Das Konto ist deaktiviert und überall abgemeldet." in page.text
    assert "volunteer.dresden aktivieren" in page.text
    enabled = await post_form(
        https_client, f"{user_page}/aktiv", {"_csrf": token, "active": "1", "zurueck": "benutzer"}
    )
    assert enabled.headers["location"] == f"{user_page}?meldung=benutzer_aktiviert"


async def test_administrators_cannot_administer_themselves(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    token = await _admin(https_client, demo_directory, identity_clock)
    me = demo_directory.account(Role.ADMIN)
    own_page = f"/verwaltung/benutzer/{me.user_id}"
    shown = await get_page(https_client, own_page)
    assert_html(shown)
    assert "ändert eine andere Administration" in shown.text
    assert f'action="{own_page}/rollen"' not in shown.text
    assert f'action="{own_page}/passwort"' not in shown.text
    for path, data in (
        ("rollen/entziehen", {"revoke_role": "admin"}),
        ("rollen", {"role": "auditor"}),
        ("passwort", {}),
        ("aktiv", {"active": "0", "zurueck": "benutzer"}),
    ):
        refused = await post_form(https_client, f"{own_page}/{path}", {"_csrf": token, **data})
        assert_html(refused, 409)
        assert "Das eigene Konto können Sie hier nicht ändern." in refused.text, path
    assert "identity:user:reset_password" not in await _actions(engine)
    # Still an administrator, still signed in.
    assert "Rollen Administration" in text_of((await get_page(https_client, own_page)).text)


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.POLICE_SUPERVISOR, Role.WR_BRANCH_LEAD])
async def test_other_roles_read_the_directory_at_most_and_change_nothing(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, role: Role
) -> None:
    await sign_in(https_client, demo_directory, role, identity_clock)
    # Someone the role may see: for the auditor anyone, for the others a colleague of their own unit.
    visible = {
        Role.AUDITOR: "officer.dresden",
        Role.POLICE_SUPERVISOR: "officer.dresden",
        Role.WR_BRANCH_LEAD: "volunteer.dresden",
    }[role]
    target = demo_directory.account(visible).user_id
    page = await get_page(https_client, f"/verwaltung/benutzer/{target}")
    assert_html(page)
    assert 'action="/verwaltung' not in page.text  # nothing to change
    token = csrf_of(page.text)
    unit = demo_directory.unit("rev-dresden-nord")
    for path, data in (
        (f"/verwaltung/benutzer/{target}/name", {"display_name": "Neu"}),
        (f"/verwaltung/benutzer/{target}/rollen", {"role": "police_supervisor"}),
        (f"/verwaltung/benutzer/{target}/rollen/entziehen", {"revoke_role": "police_officer"}),
        (f"/verwaltung/benutzer/{target}/passwort", {}),
        (f"/verwaltung/benutzer/{target}/aktiv", {"active": "0"}),
        (f"/verwaltung/einheiten/{unit.id}/name", {"name": "Neu"}),
    ):
        assert_html(await post_form(https_client, path, {"_csrf": token, **data}), 403)
    if role is not Role.AUDITOR:
        # Outside their own unit's subtree, an account is simply not there.
        other = "officer.leipzig" if role is Role.POLICE_SUPERVISOR else "volunteer.leipzig"
        elsewhere = demo_directory.account(other).user_id
        assert_html(await get_page(https_client, f"/verwaltung/benutzer/{elsewhere}"), 404)


@pytest.mark.parametrize("role", [Role.POLICE_OFFICER, Role.WR_VOLUNTEER, Role.COMPLAINTS_LEAD])
async def test_roles_without_the_directory_get_no_administrator_pages(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, role: Role
) -> None:
    await sign_in(https_client, demo_directory, role, identity_clock)
    officer = demo_directory.account(Role.POLICE_OFFICER)
    assert_html(await get_page(https_client, f"/verwaltung/benutzer/{officer.user_id}"), 403)
    token = csrf_of((await get_page(https_client, "/konto")).text)
    reset = await post_form(
        https_client, f"/verwaltung/benutzer/{officer.user_id}/passwort", {"_csrf": token}
    )
    assert_html(reset, 403)


async def test_administrator_forms_need_the_session_token(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    await _admin(https_client, demo_directory, identity_clock)
    officer = demo_directory.account(Role.POLICE_OFFICER)
    forged = await post_form(https_client, f"/verwaltung/benutzer/{officer.user_id}/passwort", {})
    assert_html(forged, 403)
    assert "identity:user:reset_password" not in await _actions(engine)
