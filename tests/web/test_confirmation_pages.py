"""Safe defaults: irreversible actions ask on a second step that states the consequence, an office
message is an internal note unless chosen otherwise, and the create-user form offers only roles that
fit the unit."""

from __future__ import annotations

import re

from referral_service.identity.roles import Role
from tests.complaints.support import REPLY
from tests.identity.support import DemoDirectory, FakeClock
from tests.referrals.support import VICTIM_NAME
from tests.web.complaint_support import submitted
from tests.web.referral_forms import case_ids, refer
from tests.web.support import Client, assert_html, csrf_of, get_page, post_form, sign_in, text_of

_CASE = re.compile(r'href="(/beschwerdestelle/beschwerden/[0-9a-f-]{36})"')
_CHECKED = re.compile(r'<input type="radio" id="f-visibility[^>]*value="(\w+)"[^>]* checked')


async def _case_in_progress(client: Client, directory: DemoDirectory, clock: FakeClock) -> tuple[str, str]:
    """A complaint the lead has triaged as complete: the lead's case page and form token."""
    await submitted(client)
    await sign_in(client, directory, Role.COMPLAINTS_LEAD, clock)
    queue = await get_page(client, "/beschwerdestelle")
    found = _CASE.search(queue.text)
    assert found
    token = csrf_of(queue.text)
    triaged = await post_form(
        client, found.group(1) + "/erstbewertung", {"_csrf": token, "category": "other", "complete": "on"}
    )
    assert triaged.status_code == 303
    return found.group(1), token


async def test_an_office_message_is_an_internal_note_unless_the_author_chooses_otherwise(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    case_path, _ = await _case_in_progress(https_client, demo_directory, identity_clock)
    case = await get_page(https_client, case_path)
    assert_html(case)
    assert _CHECKED.findall(case.text) == ["internal"]


async def test_deciding_and_closing_a_complaint_ask_first_and_say_what_follows(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    case_path, token = await _case_in_progress(https_client, demo_directory, identity_clock)
    decision = {"_csrf": token, "outcome": "justified", "reply": REPLY, "final": "1"}
    asked = await post_form(https_client, case_path + "/entscheidung", decision)
    assert_html(asked)
    said = text_of(asked.text)
    assert "als „begründet“ entschieden" in said
    assert "Die Entscheidung ist endgültig" in said
    assert "weder abgegeben noch zurückgenommen" in said
    assert "mit der Entscheidung sofort sichtbar" in said  # a reply was entered
    assert f'action="{case_path}/entscheidung"' in asked.text
    assert 'name="_csrf"' in asked.text
    assert 'name="confirmed" value="1"' in asked.text
    still_open = await get_page(https_client, case_path)
    assert 'name="final" value="1"' in still_open.text  # not decided: the decision is still offered
    assert "Entscheidung getroffen" not in text_of(still_open.text)

    # Back to the form keeps the reply typed in; nothing is decided.
    back = await post_form(https_client, case_path + "/entscheidung", {**decision, "confirmed": "0"})
    assert_html(back)
    assert REPLY in back.text
    assert 'name="final" value="1"' in back.text

    decided = await post_form(https_client, case_path + "/entscheidung", {**decision, "confirmed": "1"})
    assert decided.headers["location"] == case_path + "?meldung=entschieden"

    asked_close = await post_form(https_client, case_path + "/abschliessen", {"_csrf": token})
    assert_html(asked_close)
    assert "lässt sich danach nicht wieder öffnen" in text_of(asked_close.text)
    assert f'href="{case_path}"' in asked_close.text  # the way back without closing
    assert 'action="' + case_path + '/abschliessen"' in (await get_page(https_client, case_path)).text
    closed = await post_form(https_client, case_path + "/abschliessen", {"_csrf": token, "confirmed": "1"})
    assert closed.headers["location"] == case_path + "?meldung=beschwerde_abgeschlossen"


async def test_a_draft_is_saved_without_asking(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    case_path, token = await _case_in_progress(https_client, demo_directory, identity_clock)
    draft = await post_form(
        https_client, case_path + "/entscheidung", {"_csrf": token, "outcome": "justified", "final": "0"}
    )
    assert draft.headers["location"] == case_path + "?meldung=entwurf_gespeichert"


async def test_the_branch_records_a_consent_withdrawal_only_after_the_second_step(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    await refer(https_client, identity_clock)
    https_client.cookies.clear()
    await sign_in(https_client, routed, "volunteer.dresden", identity_clock)
    [case_id] = await case_ids(https_client)
    path = f"/weisser-ring/faelle/{case_id}"
    token = csrf_of((await get_page(https_client, path)).text)
    form = {"_csrf": token, "confirm": "on"}
    asked = await post_form(https_client, path + "/einwilligung-widerrufen", form)
    assert_html(asked)
    assert "Das lässt sich nicht rückgängig machen." in text_of(asked.text)
    assert f'href="{path}"' in asked.text
    still_open = await get_page(https_client, path)
    assert f'action="{path}/einwilligung-widerrufen"' in still_open.text
    done = await post_form(https_client, path + "/einwilligung-widerrufen", {**form, "confirmed": "1"})
    assert done.headers["location"] == f"{path}?meldung=einwilligung_widerrufen"
    assert VICTIM_NAME not in (await get_page(https_client, path)).text


async def test_deactivating_an_account_asks_first_and_says_what_follows(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.ADMIN, identity_clock)
    token = csrf_of((await get_page(https_client, "/verwaltung")).text)
    officer = demo_directory.account(Role.POLICE_OFFICER)
    path = f"/verwaltung/benutzer/{officer.user_id}/aktiv"
    asked = await post_form(https_client, path, {"_csrf": token, "active": "0"})
    assert_html(asked)
    said = text_of(asked.text)
    assert "Konto officer.dresden deaktivieren?" in said
    assert "sofort überall abgemeldet" in said
    assert 'href="/verwaltung"' in asked.text
    still_active = await get_page(https_client, "/verwaltung")
    assert "officer.dresden deaktivieren" in still_active.text
    done = await post_form(https_client, path, {"_csrf": token, "active": "0", "confirmed": "1"})
    assert done.headers["location"] == "/verwaltung?meldung=benutzer_deaktiviert"
    # Enabling again is no loss: it acts at once.
    enabled = await post_form(https_client, path, {"_csrf": token, "active": "1"})
    assert enabled.headers["location"] == "/verwaltung?meldung=benutzer_aktiviert"


async def test_revoking_a_role_asks_first_and_says_what_follows(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.ADMIN, identity_clock)
    token = csrf_of((await get_page(https_client, "/verwaltung")).text)
    officer = demo_directory.account(Role.POLICE_OFFICER)
    user_page = f"/verwaltung/benutzer/{officer.user_id}"
    granted = await post_form(
        https_client, user_page + "/rollen", {"_csrf": token, "role": "police_supervisor"}
    )
    assert granted.status_code == 303
    shown = await get_page(https_client, user_page)
    assert "data-confirm" not in shown.text  # asked by the server, not by a script's dialog

    revoke = {"_csrf": token, "revoke_role": "police_officer"}
    asked = await post_form(https_client, user_page + "/rollen/entziehen", revoke)
    assert_html(asked)
    said = text_of(asked.text)
    assert "Rolle „Polizei: Sachbearbeitung“ von officer.dresden entziehen?" in said
    assert "verliert die Rolle sofort, auch in einer laufenden Sitzung" in said
    assert f'href="{user_page}"' in asked.text  # the way back without revoking
    assert 'name="revoke_role" value="police_officer"' in asked.text
    unchanged = text_of((await get_page(https_client, user_page)).text)
    assert "Rollen Polizei: Sachbearbeitung, Polizei: Leitung" in unchanged

    done = await post_form(https_client, user_page + "/rollen/entziehen", {**revoke, "confirmed": "1"})
    assert done.headers["location"] == f"{user_page}?meldung=rolle_entzogen"
    assert "Rollen Polizei: Leitung" in text_of((await get_page(https_client, user_page)).text)
    # What the service refuses anyway is refused at once, without a question first.
    last = await post_form(
        https_client, user_page + "/rollen/entziehen", {**revoke, "revoke_role": "police_supervisor"}
    )
    assert_html(last, 409)
    assert "Die letzte Rolle kann nicht entzogen werden." in last.text


async def test_resetting_a_password_asks_first_and_says_what_follows(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.ADMIN, identity_clock)
    token = csrf_of((await get_page(https_client, "/verwaltung")).text)
    officer = demo_directory.account(Role.POLICE_OFFICER)
    path = f"/verwaltung/benutzer/{officer.user_id}/passwort"
    asked = await post_form(https_client, path, {"_csrf": token})
    assert_html(asked)
    said = text_of(asked.text)
    assert "Passwort von officer.dresden zurücksetzen?" in said
    assert "Das bisherige Passwort gilt sofort nicht mehr" in said
    assert "überall abgemeldet" in said
    assert "zweite Faktor" not in said  # not asked for
    assert f'href="/verwaltung/benutzer/{officer.user_id}"' in asked.text
    assert 'class="access-data"' not in asked.text  # no new password yet
    # The old password still signs in: nothing changed.
    https_client.cookies.clear()
    form = await get_page(https_client, "/anmelden")
    old = {"_csrf": csrf_of(form.text), "username": officer.username, "password": officer.password}
    assert (await post_form(https_client, "/anmelden", old)).status_code == 303
    https_client.cookies.clear()

    identity_clock.advance(seconds=30)  # a second factor's code counts once
    await sign_in(https_client, demo_directory, Role.ADMIN, identity_clock)
    token = csrf_of((await get_page(https_client, "/verwaltung")).text)
    with_factor = await post_form(https_client, path, {"_csrf": token, "reset_totp": "on"})
    # No role of the officer needs a second factor: it is removed, not replaced.
    assert "Auch der zweite Faktor wird entfernt" in text_of(with_factor.text)
    assert 'name="reset_totp" value="on"' in with_factor.text
    auditor = demo_directory.account(Role.AUDITOR)
    replaced = await post_form(
        https_client, f"/verwaltung/benutzer/{auditor.user_id}/passwort", {"_csrf": token, "reset_totp": "on"}
    )
    assert "Auch der zweite Faktor wird ersetzt" in text_of(replaced.text)
    done = await post_form(https_client, path, {"_csrf": token, "confirmed": "1"})
    assert_html(done)
    assert "Neues Passwort: nur jetzt sichtbar" in done.text


def _role_choices(page_html: str) -> list[str]:
    select = re.search(r'<select id="f-role".*?</select>', page_html, re.S)
    return re.findall(r'<option value="(\w+)"', select.group(0)) if select else []


async def test_the_create_user_form_offers_only_roles_that_fit_the_unit(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.ADMIN, identity_clock)
    first = await get_page(https_client, "/verwaltung")
    assert_html(first)
    assert _role_choices(first.text) == []  # first the unit
    assert 'name="einheit"' in first.text
    branch = demo_directory.unit("wr-dresden")
    for_branch = await get_page(https_client, f"/verwaltung?einheit={branch.id}")
    assert_html(for_branch)
    assert set(_role_choices(for_branch.text)) == {"wr_volunteer", "wr_branch_lead", "auditor", "admin"}
    station = demo_directory.unit("rev-dresden-nord")
    for_station = await get_page(https_client, f"/verwaltung?einheit={station.id}")
    assert set(_role_choices(for_station.text)) == {"police_officer", "police_supervisor", "auditor", "admin"}
    unknown = await get_page(https_client, "/verwaltung?einheit=nichts")
    assert_html(unknown, 422)
    assert 'id="f-einheit-error"' in unknown.text
