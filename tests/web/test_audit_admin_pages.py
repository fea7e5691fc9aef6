"""Auditor pages (verification on demand, event search) and administrator pages (users, units)."""

from __future__ import annotations

import re

from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.audit.models import AuditEvent
from referral_service.audit.service import create_checkpoint, sequence_pending
from referral_service.identity.roles import Role
from tests.audit.test_log import tamper
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.support import Client, assert_html, csrf_of, get_page, post_form, sign_in, text_of


async def _actions(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.execute(select(AuditEvent.action))).scalars())  # type: ignore[call-overload]


async def test_the_auditor_verifies_the_log_on_demand(
    https_client: Client,
    identity_app: Litestar,
    demo_directory: DemoDirectory,
    identity_clock: FakeClock,
    engine: AsyncEngine,
) -> None:
    await sign_in(https_client, demo_directory, Role.AUDITOR, identity_clock)
    keys = identity_app.state.audit_keys
    await sequence_pending(engine, keys)
    assert await create_checkpoint(engine, keys) is not None
    overview = await get_page(https_client, "/")
    assert overview.headers["location"] == "/revision"
    overview = await get_page(https_client, "/revision")
    assert_html(overview)
    assert "Protokoll jetzt prüfen" in overview.text
    token = csrf_of(overview.text)

    verified = await post_form(https_client, "/revision/pruefung", {"_csrf": token})
    assert_html(verified)
    assert "Das Protokoll ist unverändert." in verified.text
    fragment = await https_client.post(
        "/revision/pruefung", data={"_csrf": token}, headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert fragment.text.lstrip().startswith('<div id="verification"')
    assert "audit:log:verify" in await _actions(engine)

    await tamper(engine, "UPDATE audit_events SET action = 'identity:session:logout' WHERE id = 1")
    broken = await post_form(https_client, "/revision/pruefung", {"_csrf": token})
    assert "Das Protokoll wurde verändert." in broken.text
    assert "Erste fehlerhafte Position: 0" in text_of(broken.text)


async def test_the_auditor_searches_events_with_a_post_form(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    await sign_in(https_client, demo_directory, Role.AUDITOR, identity_clock)
    form = await get_page(https_client, "/revision/ereignisse")
    assert_html(form)
    assert 'method="post" action="/revision/ereignisse"' in form.text
    token = csrf_of(form.text)
    found = await post_form(
        https_client, "/revision/ereignisse", {"_csrf": token, "action": "identity:session:login"}
    )
    assert_html(found)
    assert "identity:session:login" in found.text
    assert "Keine Ereignisse gefunden." not in found.text
    invalid = await post_form(https_client, "/revision/ereignisse", {"_csrf": token, "action": "DROP TABLE"})
    assert_html(invalid, 422)
    assert 'id="f-action-error"' in invalid.text
    assert "audit:event:read" in await _actions(engine)


async def test_the_administrator_manages_users_and_units(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.ADMIN, identity_clock)
    users = await get_page(https_client, "/verwaltung")
    assert_html(users)
    assert "officer.dresden" in users.text
    assert "admin.sachsen deaktivieren" not in users.text  # not oneself
    token = csrf_of(users.text)
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
    office = demo_directory.unit("wr-sn")
    with_totp = await post_form(
        https_client,
        "/verwaltung/benutzer",
        {**new_user, "username": "landesbuero.neu", "unit_id": str(office.id), "role": "wr_state_office"},
    )
    assert_html(with_totp, 201)
    assert "Zweiter Faktor: nur jetzt sichtbar" in with_totp.text
    assert "otpauth://totp/" in with_totp.text

    officer = demo_directory.account(Role.POLICE_OFFICER)
    disabled = await post_form(
        https_client, f"/verwaltung/benutzer/{officer.user_id}/aktiv", {"_csrf": token, "active": "0"}
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


async def test_auditors_and_administrators_see_only_their_own_pages(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.AUDITOR, identity_clock)
    for path in ("/polizei", "/weisser-ring", "/beschwerdestelle", "/stellungnahmen"):
        assert_html(await get_page(https_client, path), 403)
    # Auditors may read the staff directory (as in the API), but not change it.
    directory = await get_page(https_client, "/verwaltung")
    assert_html(directory)
    assert "Konto anlegen" not in directory.text
    assert "deaktivieren" not in directory.text
    https_client.cookies.clear()
    identity_clock.advance(seconds=60)
    await sign_in(https_client, demo_directory, Role.ADMIN, identity_clock)
    for path in ("/revision", "/polizei", "/beschwerdestelle"):
        assert_html(await get_page(https_client, path), 403)
    assert re.search(r"Keine Berechtigung", (await get_page(https_client, "/revision")).text)
