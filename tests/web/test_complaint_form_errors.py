"""The complaint forms report every error at once, in page order, each named by its field's own label,
and check e-mail, phone and dates by the rules the API applies too."""

from __future__ import annotations

import html
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.identity.roles import Role
from tests.complaints.support import NAME
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.complaint_support import count, submit
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

ENTRY = "/beschwerdestelle/erfassen"
EMAIL_MESSAGE = "E-Mail: Bitte geben Sie eine E-Mail-Adresse im Format name@beispiel.de an."
PHONE_MESSAGE = "Telefon: Bitte geben Sie eine Telefonnummer mit mindestens 6 Ziffern an"
# Typing slips the API refuses: no domain, no top-level domain, an empty or one-letter or numeric one.
WRONG_ADDRESSES = (
    "anna.schmidt@web",
    "erika@example",
    "anna@web..de",
    "erika@example.d",
    "erika@example.123",
)
# The complaints clock stands on Monday, 23 November 2026.
TOMORROW = "2026-11-24"
EMPTY_FORM = {
    "complaint_type": "",
    "follow_up_of": "",
    "category": "",
    "description": "",
    "incident_date": "",
    "place": "",
    "police_unit_id": "",
    "complainant_kind": "",
    "name": "",
    "email": "",
    "phone": "",
    "address": "",
}
# Wrong in every way a field can be: unknown choices, a reference on a plain complaint, a day the calendar
# lacks, an anonymous complainant who names themselves with a mistyped address and a short phone number.
WRONG_FORM = {
    "complaint_type": "complaint",
    "follow_up_of": "BS-2026-000001",
    "category": "brutality",
    "incident_date": "31.02.2026",
    "police_unit_id": "rev-dresden-nord",
    "complainant_kind": "anonymous",
    "name": NAME,
    "email": "erika@example",
    "phone": "12",
    "address": "Bautzner Straße 1",
}


async def enter(client: Client, **fields: Any) -> Any:
    form = await get_page(client, ENTRY)
    assert_html(form)
    return await post_form(client, ENTRY, {"_csrf": csrf_of(form.text), **fields})


def letter(**overrides: Any) -> dict[str, Any]:
    return {
        "channel": "letter",
        "complaint_type": "complaint",
        "complainant_kind": "citizen",
        "name": NAME,
        "category": "conduct_on_duty",
        "description": "Per Brief: Beschwerde über eine Kontrolle.",
        **overrides,
    }


async def test_the_public_form_reports_every_missing_field_at_once_in_page_order(
    https_client: Client, engine: AsyncEngine
) -> None:
    empty = await submit(https_client, **EMPTY_FORM)
    assert_html(empty, 422)
    assert_error_summary(
        empty.text, expected={"complaint_type", "category", "description", "complainant_kind"}
    )
    shown = text_of(empty.text)
    assert "Sie beschweren sich als: Bitte wählen Sie eine der Möglichkeiten aus." in shown
    assert "Beschreibung: Bitte füllen Sie dieses Feld aus." in shown
    assert await count(engine) == 0


async def test_the_public_form_reports_every_wrong_value_at_once_in_page_order(
    https_client: Client, engine: AsyncEngine
) -> None:
    wrong = await submit(
        https_client,
        files=[("attachments", ("notizen.txt", b"nur Text", "text/plain"))],
        **WRONG_FORM,
    )
    assert_html(wrong, 422)
    assert_error_summary(
        wrong.text,
        expected={
            "follow_up_of",
            "category",
            "incident_date",
            "police_unit_id",
            "attachments",
            "name",
            "email",
            "phone",
            "address",
        },
    )
    shown = text_of(wrong.text)
    assert "Aktenzeichen der früheren Beschwerde: Bei einer Folgebeschwerde" in shown
    assert "Datum des Vorfalls: Bitte geben Sie ein gültiges Datum an" in shown
    assert EMAIL_MESSAGE in shown  # the mistyped address is named as such, not only as "leave it empty"
    assert PHONE_MESSAGE in shown
    assert "Anschrift: Bei einer anonymen Beschwerde lassen Sie Name" in shown
    assert 'value="erika@example"' in wrong.text  # what was typed comes back, to be fixed
    assert await count(engine) == 0


async def test_the_public_form_refuses_an_incident_date_in_the_future_at_its_field(
    https_client: Client, engine: AsyncEngine
) -> None:
    future = await submit(https_client, incident_date=TOMORROW, complainant_kind="citizen", description="")
    assert_html(future, 422)
    # The date is refused together with the other errors, not after them were fixed.
    assert_error_summary(future.text, expected={"description", "incident_date", "name"})
    assert "Datum des Vorfalls: Das Datum des Vorfalls darf nicht in der Zukunft liegen." in text_of(
        future.text
    )
    german = await submit(https_client, incident_date="20.11.2026")
    assert_html(german, 201)
    assert await count(engine) == 1


async def test_the_public_form_checks_e_mail_addresses_as_the_api_does(
    https_client: Client, engine: AsyncEngine
) -> None:
    for address in WRONG_ADDRESSES:
        refused = await submit(https_client, complainant_kind="citizen", name=NAME, email=address)
        assert_html(refused, 422)
        assert assert_error_summary(refused.text) == ["email"], address
        assert EMAIL_MESSAGE in text_of(refused.text)
    short = await submit(https_client, complainant_kind="citizen", name=NAME, phone="0351")
    assert_html(short, 422)
    assert PHONE_MESSAGE in text_of(short.text)
    assert await count(engine) == 0
    accepted = await submit(https_client, complainant_kind="citizen", name=NAME, email="anna.schmidt@web.de")
    assert_html(accepted, 201)
    assert await count(engine) == 1


async def test_the_entry_form_reports_every_error_at_once_in_page_order(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_HANDLER, identity_clock)
    empty = await enter(https_client, channel="", **EMPTY_FORM)
    assert_html(empty, 422)
    assert_error_summary(
        empty.text, expected={"channel", "complaint_type", "category", "description", "complainant_kind"}
    )
    assert "Die Person beschwert sich als: Bitte wählen Sie" in text_of(empty.text)

    wrong = await enter(https_client, channel="web", description="Per Telefon.", **WRONG_FORM)
    assert_html(wrong, 422)
    assert_error_summary(
        wrong.text,
        expected={
            "channel",
            "follow_up_of",
            "category",
            "incident_date",
            "police_unit_id",
            "name",
            "email",
            "phone",
            "address",
        },
    )
    nameless = await enter(https_client, **letter(name="", incident_date=TOMORROW))
    assert_html(nameless, 422)
    assert_error_summary(nameless.text, expected={"incident_date", "name"})
    assert "Name: Bitte geben Sie den Namen der Person an" in html.unescape(text_of(nameless.text))
    assert await count(engine) == 0


async def test_the_entry_form_checks_e_mail_addresses_as_the_api_does(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_HANDLER, identity_clock)
    for address in WRONG_ADDRESSES:
        refused = await enter(https_client, **letter(email=address))
        assert_html(refused, 422)
        assert assert_error_summary(refused.text) == ["email"], address
        assert EMAIL_MESSAGE in text_of(refused.text)
    short = await enter(https_client, **letter(phone="0351"))
    assert_html(short, 422)
    assert PHONE_MESSAGE in text_of(short.text)
    assert await count(engine) == 0
    accepted = await enter(https_client, **letter(email="anna.schmidt@web.de", phone="0351 1234567"))
    assert_html(accepted, 201)
    assert await count(engine) == 1
