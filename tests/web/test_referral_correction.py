"""The police correct a referral's content on its page, only until a branch accepts it."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.audit.models import AuditEvent
from referral_service.identity.roles import Role
from referral_service.referrals.models import Referral
from tests.identity.support import DemoDirectory, FakeClock
from tests.referrals.support import CIRCUMSTANCES, VICTIM_NAME, VICTIM_PHONE
from tests.web.referral_forms import case_ids, police_referral_ids, refer, referral_form
from tests.web.support import (
    HTML,
    Client,
    assert_error_summary,
    assert_html,
    csrf_of,
    get_page,
    post_form,
    sign_in,
    text_of,
)

_VERSION = re.compile(r'name="stand" value="([^"]+)"')
# What the correction form shows: the referral's content, without consent and language.
_CONTENT_FIELDS = (
    "victim_name",
    "street_address",
    "postcode",
    "city",
    "phone",
    "email",
    "preferred_channel",
    "date_of_birth",
    "contact_preferences",
    "accessibility_needs",
    "offence_category",
    "incident_date",
    "case_number",
    "circumstances",
    "requested_support",
    "urgency",
)


def correction(form_html: str, clock: FakeClock, **changes: Any) -> dict[str, Any]:
    """The correction form as the browser posts it: as sent, with `changes` typed in."""
    version = _VERSION.search(form_html)
    assert version, "the form carries no version"
    sent = referral_form(clock, city="Radebeul")
    values = {name: sent.get(name, "") for name in _CONTENT_FIELDS}
    values.update(changes)
    return {"_csrf": csrf_of(form_html), "stand": version.group(1), **values}


async def _referred(client: Client, directory: DemoDirectory, clock: FakeClock) -> str:
    await sign_in(client, directory, Role.POLICE_OFFICER, clock)
    assert (await refer(client, clock, city="Radebeul")).status_code == 303
    [referral_id] = await police_referral_ids(client)
    return referral_id


async def _updates(engine: AsyncEngine, referral_id: str) -> list[list[str]]:
    """The fields each audited correction of the referral wrote."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(AuditEvent.details).where(
                AuditEvent.action == "referral:referral:update", AuditEvent.target_id == referral_id
            )
        )
        return [json.loads(details)["fields"] for (details,) in rows]


async def _reads(engine: AsyncEngine, referral_id: str) -> int:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(AuditEvent.id).where(
                AuditEvent.action == "referral:referral:read", AuditEvent.target_id == referral_id
            )
        )
        return len(rows.all())


async def _accept(client: Client, directory: DemoDirectory, clock: FakeClock, referral_id: str) -> None:
    client.cookies.clear()
    await sign_in(client, directory, "volunteer.dresden", clock)
    case = await get_page(client, f"/weisser-ring/faelle/{referral_id}")
    accepted = await post_form(
        client, f"/weisser-ring/faelle/{referral_id}/annehmen", {"_csrf": csrf_of(case.text)}
    )
    assert accepted.status_code == 303
    client.cookies.clear()


async def test_the_form_shows_the_content_and_saves_only_what_changed(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    referral_id = await _referred(https_client, routed, identity_clock)
    path = f"/polizei/vermittlungen/{referral_id}"
    detail = await get_page(https_client, path)
    assert f'href="{path}/korrigieren"' in detail.text
    assert "Angaben korrigieren" in detail.text

    form = await get_page(https_client, path + "/korrigieren")
    assert_html(form)
    for value in (VICTIM_NAME, VICTIM_PHONE, "Radebeul", "01099"):
        assert f'value="{value}"' in form.text, value
    assert CIRCUMSTANCES in form.text
    assert re.search(r'value="personal_support"\s+checked', form.text)
    assert 'name="language"' not in form.text  # a correction cannot change the language
    assert 'name="consent_given_by"' not in form.text  # nor the consent

    # Sent back as it came, the form changes nothing and writes nothing.
    untouched = await post_form(https_client, path + "/korrigieren", correction(form.text, identity_clock))
    assert untouched.headers["location"] == path + "?meldung=keine_aenderung"
    assert await _updates(engine, referral_id) == []

    corrected = await post_form(
        https_client,
        path + "/korrigieren",
        correction(
            form.text,
            identity_clock,
            phone="0351 4440000",
            city="",  # emptied: deleted, not kept
            circumstances="Angriff an der Haltestelle, Prellungen am Arm",
            requested_support=["financial_aid"],
            urgency="normal",
        ),
    )
    assert corrected.status_code == 303, corrected.text
    assert corrected.headers["location"] == path + "?meldung=angaben_korrigiert"
    shown = await get_page(https_client, corrected.headers["location"])
    assert_html(shown)
    text = text_of(shown.text)
    assert "Die Angaben der Vermittlung sind korrigiert." in text
    assert "0351 4440000" in text
    assert VICTIM_PHONE not in text
    assert "Radebeul" not in text
    assert "Angriff an der Haltestelle" in text
    assert "finanzielle Hilfe in Notlagen" in text
    assert "menschlicher Beistand" not in text
    # Only the changed fields were written: the postcode (which routes the referral) was not.
    assert await _updates(engine, referral_id) == [
        ["circumstances", "city", "phone", "requested_support", "urgency"]
    ]
    # The branch it was routed to still has it.
    https_client.cookies.clear()
    await sign_in(https_client, routed, "volunteer.dresden", identity_clock)
    assert await case_ids(https_client) == [referral_id]


async def test_emptied_fields_are_deleted_with_their_lookup_index(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    sent = await refer(
        https_client, identity_clock, city="Radebeul", email="mira@example.org", case_number="DD-4711/26-K"
    )
    assert sent.status_code == 303
    [referral_id] = await police_referral_ids(https_client)
    path = f"/polizei/vermittlungen/{referral_id}/korrigieren"
    form = await get_page(https_client, path)
    assert 'value="mira@example.org"' in form.text
    # The e-mail address and the case number are left empty; everything else stays as sent.
    assert (await post_form(https_client, path, correction(form.text, identity_clock))).status_code == 303
    assert await _updates(engine, referral_id) == [["case_number", "email"]]
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                select(
                    Referral.email, Referral.email_index, Referral.case_number, Referral.case_number_index
                ).where(Referral.id == uuid.UUID(referral_id))
            )
        ).one()
    assert tuple(row) == (None, None, None, None)
    detail = text_of((await get_page(https_client, f"/polizei/vermittlungen/{referral_id}")).text)
    assert "mira@example.org" not in detail
    assert "DD-4711/26-K" not in detail


async def test_wrong_values_are_shown_next_to_the_fields_and_nothing_is_saved(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    referral_id = await _referred(https_client, routed, identity_clock)
    path = f"/polizei/vermittlungen/{referral_id}/korrigieren"
    form = await get_page(https_client, path)
    refused = await post_form(
        https_client,
        path,
        correction(form.text, identity_clock, victim_name="", postcode="0109", email="keine-adresse"),
    )
    assert_html(refused, 422)
    assert "Bitte prüfen Sie Ihre Angaben" in refused.text
    for field in ("victim_name", "postcode", "email"):
        assert f'id="f-{field}-error"' in refused.text, field
        assert f'href="#f-{field}"' in refused.text, field
    assert 'value="0109"' in refused.text  # what was typed comes back, to be fixed
    assert "Die Postleitzahl besteht aus 5 Ziffern." in refused.text
    # The service's own rule, which needs the clock: the incident date must not lie in the future.
    reads_before = await _reads(engine, referral_id)
    tomorrow = (identity_clock.now() + dt.timedelta(days=2)).strftime("%d.%m.%Y")
    future = await post_form(
        https_client, path, correction(form.text, identity_clock, incident_date=tomorrow)
    )
    assert_html(future, 422)
    assert 'id="f-incident_date-error"' in future.text
    assert "Das Datum der Tat darf nicht in der Zukunft liegen." in future.text
    assert await _updates(engine, referral_id) == []
    # The refused correction is undone, but the decrypted read it was checked against stays audited.
    assert await _reads(engine, referral_id) == reads_before + 1
    detail = await get_page(https_client, f"/polizei/vermittlungen/{referral_id}")
    assert VICTIM_NAME in detail.text


async def test_a_correction_made_meanwhile_is_not_overwritten(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, referral_clock: FakeClock
) -> None:
    referral_id = await _referred(https_client, routed, identity_clock)
    path = f"/polizei/vermittlungen/{referral_id}/korrigieren"
    first_tab = await get_page(https_client, path)
    second_tab = await get_page(https_client, path)
    referral_clock.advance(minutes=1)
    saved = await post_form(https_client, path, correction(first_tab.text, identity_clock, phone="0351 111"))
    assert saved.status_code == 303
    stale = await post_form(https_client, path, correction(second_tab.text, identity_clock, city="Meißen"))
    assert_html(stale, 409)
    assert "inzwischen an anderer Stelle geändert" in stale.text
    assert 'value="0351 111"' in stale.text  # the current state, to correct again
    assert 'value="Meißen"' not in stale.text


async def test_after_acceptance_the_correction_is_refused_with_a_message(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    referral_id = await _referred(https_client, routed, identity_clock)
    path = f"/polizei/vermittlungen/{referral_id}"
    form = await get_page(https_client, path + "/korrigieren")
    await _accept(https_client, routed, identity_clock, referral_id)

    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    token = csrf_of((await get_page(https_client, path)).text)
    # The form was open while the branch accepted: saving it is refused, as the API refuses (409).
    late = await post_form(
        https_client, path + "/korrigieren", {**correction(form.text, identity_clock), "_csrf": token}
    )
    assert_html(late, 409)
    assert "Korrektur nicht mehr möglich" in late.text
    assert "inzwischen angenommen" in late.text
    assert VICTIM_NAME not in late.text  # feedback only, as on the page itself
    reopened = await get_page(https_client, path + "/korrigieren")
    assert_html(reopened, 409)
    assert VICTIM_NAME not in reopened.text
    detail = await get_page(https_client, path)
    assert "/korrigieren" not in detail.text
    assert await _updates(engine, referral_id) == []


async def test_only_the_referring_station_may_correct(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    referral_id = await _referred(https_client, routed, identity_clock)
    path = f"/polizei/vermittlungen/{referral_id}/korrigieren"
    form = await get_page(https_client, path)
    https_client.cookies.clear()

    await sign_in(https_client, routed, "supervisor.dresden", identity_clock)
    assert_html(await get_page(https_client, path))  # the station's supervisor may
    https_client.cookies.clear()

    await sign_in(https_client, routed, "officer.leipzig", identity_clock)
    assert_html(await get_page(https_client, path), 404)
    token = csrf_of((await get_page(https_client, "/polizei")).text)
    posted = await post_form(https_client, path, {**correction(form.text, identity_clock), "_csrf": token})
    assert_html(posted, 404)
    https_client.cookies.clear()


@pytest.mark.parametrize(
    "who", ["volunteer.dresden", "branchlead.dresden", Role.WR_STATE_OFFICE, Role.COMPLAINTS_LEAD]
)
async def test_other_roles_may_not_open_or_post_the_correction(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, who: Role | str
) -> None:
    referral_id = await _referred(https_client, routed, identity_clock)
    path = f"/polizei/vermittlungen/{referral_id}/korrigieren"
    form = await get_page(https_client, path)
    https_client.cookies.clear()
    await sign_in(https_client, routed, who, identity_clock)
    token = csrf_of((await https_client.get("/", headers=HTML)).text)  # from the user's own start page
    opened = await get_page(https_client, path)
    assert_html(opened, 403)
    assert "Keine Berechtigung" in opened.text
    posted = await post_form(https_client, path, {**correction(form.text, identity_clock), "_csrf": token})
    assert_html(posted, 403)
    assert "Keine Berechtigung" in posted.text


async def test_the_correction_reports_every_error_at_once_in_page_order(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    referral_id = await _referred(https_client, routed, identity_clock)
    path = f"/polizei/vermittlungen/{referral_id}/korrigieren"
    form = await get_page(https_client, path)
    emptied = {name: "" for name in _CONTENT_FIELDS if name not in ("requested_support", "urgency")}
    empty = await post_form(https_client, path, correction(form.text, identity_clock, **emptied))
    assert_html(empty, 422)
    assert_error_summary(
        empty.text,
        expected={"victim_name", "contact", "postcode", "offence_category", "incident_date", "circumstances"},
    )
    wrong = await post_form(
        https_client,
        path,
        correction(
            form.text,
            identity_clock,
            postcode="0109",
            phone="x1",
            email="erika@example",
            preferred_channel="visit",
            incident_date="13.2026",
            case_number="ab",
        ),
    )
    assert_html(wrong, 422)
    assert_error_summary(
        wrong.text,
        expected={"postcode", "phone", "email", "preferred_channel", "incident_date", "case_number"},
    )
    assert "E-Mail: Bitte geben Sie eine E-Mail-Adresse im Format name@beispiel.de an." in text_of(wrong.text)
    assert await _updates(engine, referral_id) == []


async def test_the_last_way_to_reach_the_victim_cannot_be_emptied(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    referral_id = await _referred(https_client, routed, identity_clock)  # with a phone number only
    path = f"/polizei/vermittlungen/{referral_id}/korrigieren"
    form = await get_page(https_client, path)
    refused = await post_form(https_client, path, correction(form.text, identity_clock, phone=""))
    assert_html(refused, 422)
    assert_error_summary(refused.text, expected={"contact"})
    assert 'id="f-contact-error"' in refused.text
    assert await _updates(engine, referral_id) == []
    # Replaced by an e-mail address in the same correction, the phone number may go.
    replaced = await post_form(
        https_client, path, correction(form.text, identity_clock, phone="", email="mira@example.org")
    )
    assert replaced.status_code == 303, replaced.text
    assert await _updates(engine, referral_id) == [["email", "phone"]]


async def test_the_incident_date_is_corrected_in_the_form_it_is_asked_for(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    referral_id = await _referred(https_client, routed, identity_clock)
    path = f"/polizei/vermittlungen/{referral_id}/korrigieren"
    form = await get_page(https_client, path)
    sent_on = (identity_clock.now() - dt.timedelta(days=1)).strftime("%d.%m.%Y")
    assert f'id="f-incident_date" name="incident_date" type="text" value="{sent_on}"' in form.text
    assert "TT.MM.JJJJ – oder MM.JJJJ, wenn der Tag nicht bekannt ist" in form.text
    # The same day written the API's way is no change.
    iso = (identity_clock.now() - dt.timedelta(days=1)).strftime("%Y-%m-%d")
    same = await post_form(https_client, path, correction(form.text, identity_clock, incident_date=iso))
    assert same.headers["location"].endswith("?meldung=keine_aenderung")
    to_month = await post_form(
        https_client, path, correction(form.text, identity_clock, incident_date="03.2026")
    )
    assert to_month.status_code == 303, to_month.text
    assert await _updates(engine, referral_id) == [["incident_date"]]
    assert "Datum der Tat März 2026" in text_of(
        (await get_page(https_client, f"/polizei/vermittlungen/{referral_id}")).text
    )
    assert 'value="03.2026"' in (await get_page(https_client, path)).text
