"""Historical entry on the office's entry page: the lead gives the date a complaint of an earlier year was
received; the handler is not offered the field."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.identity.roles import Role
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.support import Client, assert_html, csrf_of, get_page, post_form, sign_in, text_of
from tests.web.test_complaint_entry_pages import ENTRY, letter, stored


async def test_the_lead_enters_a_complaint_received_in_2017_the_handler_is_not_offered_the_date(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    form = await get_page(https_client, ENTRY)
    assert_html(form)
    assert "Eingangsdatum" in form.text
    csrf = {"_csrf": csrf_of(form.text)}

    early = await post_form(https_client, ENTRY, {**csrf, **letter(received_at="2015-12-31")})
    assert_html(early, 422)
    assert "nicht vor der Eröffnung der Beschwerdestelle" in text_of(early.text)
    assert await stored(engine) == []

    entered = await post_form(
        https_client, ENTRY, {**csrf, **letter(received_at="2017-03-01", incident_date="2017-02-20")}
    )
    assert_html(entered, 201)
    [complaint] = await stored(engine)
    assert complaint.reference.startswith("BS-2017-")
    assert complaint.received_on == dt.date(2017, 3, 1)

    token = csrf_of((await get_page(https_client, ENTRY)).text)
    assert (await post_form(https_client, "/abmelden", {"_csrf": token})).status_code == 303
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_HANDLER, identity_clock)
    handler_form = await get_page(https_client, ENTRY)
    assert "Beschwerde erfassen" in handler_form.text
    assert "Eingangsdatum" not in handler_form.text
