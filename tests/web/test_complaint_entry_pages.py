"""The office's entry of complaints received by letter, e-mail, fax, phone or in person
("Beschwerde erfassen")."""

from __future__ import annotations

import html
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from complaints.domain import STAFF_CHANNELS, Channel
from complaints.models import Complaint
from referral_service.identity.roles import Role
from tests.complaints.support import ADDRESS, DESCRIPTION, EMAIL, NAME, PLACE
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.complaint_support import CASE_LINK, count, open_my_complaint, receipt_data
from tests.web.support import HTML, Client, assert_html, csrf_of, get_page, post_form, sign_in, text_of

ENTRY = "/beschwerdestelle/erfassen"


def letter(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "channel": "letter",
        "complaint_type": "complaint",
        "complainant_kind": "citizen",
        "name": NAME,
        "email": EMAIL,
        "address": ADDRESS,
        "category": "conduct_on_duty",
        "description": DESCRIPTION,
        "incident_date": "2026-11-20",
        "place": PLACE,
    }
    values.update(overrides)
    return values


async def enter(client: Client, **overrides: Any) -> Any:
    form = await get_page(client, ENTRY)
    assert_html(form)
    return await post_form(client, ENTRY, {"_csrf": csrf_of(form.text), **letter(**overrides)})


async def stored(engine: AsyncEngine) -> list[Complaint]:
    async with engine.connect() as connection:
        rows = (await connection.execute(select(Complaint).order_by(Complaint.sequence))).all()  # type: ignore[arg-type]
    return [Complaint.model_validate(row._mapping) for row in rows]


async def test_a_letter_is_entered_and_the_receipt_shows_reference_and_code_once(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_HANDLER, identity_clock)
    queue = await get_page(https_client, "/beschwerdestelle")
    assert f'href="{ENTRY}">Beschwerde erfassen</a>' in queue.text
    form = await get_page(https_client, ENTRY)
    assert_html(form)
    assert "Eingangsweg" in form.text
    for label in ("Brief", "E-Mail", "Fax", "Telefon", "persönliche Vorsprache"):
        assert label in form.text
    assert "Online-Formular" not in form.text  # the web channel is the public form's
    assert '<legend>Weitere betroffene Bereiche <span class="optional">' in form.text

    further = letter(further_categories=["criminal_prosecution", "other"])
    receipt = await post_form(https_client, ENTRY, {"_csrf": csrf_of(form.text), **further})
    assert_html(receipt, 201)
    assert receipt.headers["cache-control"] == "no-store"
    page_text = text_of(receipt.text)
    assert "Beschwerde erfasst" in page_text
    assert "Eingangsweg: Brief" in page_text
    assert "nur jetzt angezeigt" in page_text
    reference, code = receipt_data(receipt.text)
    link = CASE_LINK.search(receipt.text)
    assert link
    assert reference not in link.group(1)  # ids only in addresses
    assert code not in receipt.headers.get("location", "")

    case = await get_page(https_client, link.group(1))
    assert_html(case)
    case_text = text_of(case.text)
    assert f"Beschwerde {reference}" in case_text
    assert "Eingegangen (Brief)" in case_text
    assert "Bereich Verhalten im Dienst Weitere betroffene Bereiche Strafverfolgung, Sonstiges" in case_text
    assert NAME in case_text  # entered by this handler, assigned to them, identity not confidential
    assert "Zuständig Sie" in case_text

    [complaint] = await stored(engine)
    handler = demo_directory.account(Role.COMPLAINTS_HANDLER)
    assert complaint.channel == Channel.LETTER.value
    assert complaint.created_by_id == handler.user_id
    assert complaint.assignee_id == handler.user_id
    assert code not in str(complaint.access_code_hash)

    # The code works for the complainant, as on the public form.
    https_client.cookies.clear()
    assert (await open_my_complaint(https_client, reference, code)).headers["location"] == "/beschwerde/meine"


async def test_every_office_channel_is_recorded(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    channels = ["letter", "email", "fax", "phone", "in_person"]
    assert {Channel(value) for value in channels} == STAFF_CHANNELS
    for channel in channels:
        assert_html(
            await enter(
                https_client, channel=channel, complainant_kind="anonymous", name="", email="", address=""
            ),
            201,
        )
    assert [complaint.channel for complaint in await stored(engine)] == channels
    queue = text_of((await get_page(https_client, "/beschwerdestelle")).text)
    for label in ("Brief", "E-Mail", "Fax", "Telefon", "persönliche Vorsprache"):
        assert label in queue


async def test_missing_or_wrong_fields_are_shown_on_the_form_and_nothing_is_stored(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_HANDLER, identity_clock)
    empty = await enter(https_client, channel="", complainant_kind="", category="", description="")
    assert_html(empty, 422)
    for field in ("channel", "complainant_kind", "category", "description"):
        assert f'id="f-{field}-error"' in empty.text, field
    summary = text_of(empty.text)
    assert "Eingangsweg: Bitte wählen Sie" in summary
    assert "Die Person beschwert sich als: Bitte wählen Sie" in summary
    assert NAME in html.unescape(empty.text)  # what was typed stays

    web = await enter(https_client, channel="web")
    assert_html(web, 422)
    assert 'id="f-channel-error"' in web.text

    without_name = await enter(https_client, name="")
    assert_html(without_name, 422)
    assert "Bitte geben Sie den Namen der Person an" in html.unescape(without_name.text)

    anonymous_with_name = await enter(https_client, complainant_kind="anonymous")
    assert_html(anonymous_with_name, 422)
    assert 'id="f-name-error"' in anonymous_with_name.text

    future = await enter(https_client, incident_date="2027-01-01")
    assert_html(future, 422)
    assert 'id="f-incident_date-error"' in future.text

    # Staff are told when an earlier reference does not exist (the public form never tells).
    unknown = await enter(https_client, complaint_type="follow_up", follow_up_of="BS-2026-999999")
    assert_html(unknown, 422)
    assert "Es gibt keine Beschwerde mit diesem Aktenzeichen." in unknown.text

    assert await count(engine) == 0


async def test_only_complaints_office_staff_may_enter_complaints(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    anonymous = await get_page(https_client, ENTRY)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/anmelden")
    for role in (Role.POLICE_OFFICER, Role.POLICE_SUPERVISOR, Role.WR_VOLUNTEER, Role.AUDITOR, Role.ADMIN):
        identity_clock.advance(seconds=60)  # a fresh one-time code for roles that need one
        await sign_in(https_client, demo_directory, role, identity_clock)
        assert_html(await get_page(https_client, ENTRY), 403)
        home = await https_client.get("/", headers=HTML, follow_redirects=True)
        token = csrf_of(home.text)  # the sign-out form of the role's own area carries the session's token
        assert_html(await post_form(https_client, ENTRY, {"_csrf": token, **letter()}), 403)
        https_client.cookies.clear()
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    without_token = await post_form(https_client, ENTRY, letter())
    assert_html(without_token, 403)
    assert await count(engine) == 0
