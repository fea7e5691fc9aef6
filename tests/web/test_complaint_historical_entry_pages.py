"""Historical entry on the office's entry page: the lead gives the date a complaint of an earlier year was
received; the handler is not offered the field."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.identity.roles import Role
from tests.complaints.support import OFFICE, named_payload
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock
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
from tests.web.test_complaint_entry_pages import ENTRY, letter, stored

RECEIVED = "2017-03-01T10:00:00+01:00"


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


async def _decided_and_closed(engine: AsyncEngine, complaint_id: str) -> tuple[object, ...]:
    """What the case page's steps wrote: status, decided, closed, the draft's time."""
    [complaint] = [c for c in await stored(engine) if str(c.id) == complaint_id]
    return complaint.status, complaint.decided_at, complaint.closed_at, complaint.drafted_at


async def test_the_lead_gives_past_decision_and_closing_days_on_the_case_page_the_handler_cannot(
    https_client: Client,
    auth_headers: AuthHeaders,
    demo_directory: DemoDirectory,
    identity_clock: FakeClock,
    engine: AsyncEngine,
) -> None:
    lead = await auth_headers("complaints.lead")

    async def in_progress() -> str:
        # Received on 1 March 2017 at 10:00 in Dresden (the API takes a time), triaged.
        payload = named_payload(channel="letter", incident_date="2017-02-20", received_at=RECEIVED)
        before = {str(c.id) for c in await stored(engine)}
        assert (await https_client.post(OFFICE, json=payload, headers=lead)).status_code == 201
        [complaint_id] = {str(c.id) for c in await stored(engine)} - before
        triaged = await https_client.post(
            f"{OFFICE}/{complaint_id}/triage", json={"complete": True}, headers=lead
        )
        assert triaged.status_code == 200, triaged.text
        return complaint_id

    first, second = await in_progress(), await in_progress()
    handler = demo_directory.account("complaints.handler").user_id
    assigned = await https_client.post(
        f"{OFFICE}/{second}/assign", json={"assignee_id": str(handler)}, headers=lead
    )
    assert assigned.status_code == 200, assigned.text
    path = f"/beschwerdestelle/beschwerden/{first}"
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    case = await get_page(https_client, path)
    assert "Entscheidungsdatum" in case.text
    decide = {"_csrf": csrf_of(case.text), "outcome": "justified", "final": "1"}

    # Every wrong day comes back at the field, before the second step; nothing is written.
    for day, message in [
        ("2017-02-28", "Die Entscheidung kann nicht vor dem Eingang der Beschwerde liegen."),
        ("2026-11-24", "Das Datum darf nicht in der Zukunft liegen."),  # the clock: 23 November 2026
        ("31.02.2017", "Bitte geben Sie ein gültiges Datum an"),
    ]:
        wrong = await post_form(https_client, path + "/entscheidung", {**decide, "decided_at": day})
        assert_html(wrong, 422)
        assert_error_summary(wrong.text, expected={"decided_at"})
        assert f"Entscheidungsdatum: {message}" in text_of(wrong.text), day
        assert f'value="{day}"' in wrong.text  # the typed day stays in the field
    draft = await post_form(
        https_client, path + "/entscheidung", {**decide, "final": "0", "decided_at": "2017-03-20"}
    )
    assert_html(draft, 422)
    assert "Ein Entscheidungsdatum gilt nur für die Entscheidung" in text_of(draft.text)
    assert await _decided_and_closed(engine, first) == ("in_progress", None, None, None)

    # The second step names the day and that the complainant gets no e-mail. The day the complaint
    # arrived stands for the moment it arrived (10:00): a decision cannot precede the receipt.
    asked = await post_form(https_client, path + "/entscheidung", {**decide, "decided_at": "2017-03-01"})
    assert_html(asked)
    assert "Als Entscheidungsdatum wird der 01.03.2017 erfasst" in text_of(asked.text)
    done = await post_form(
        https_client, path + "/entscheidung", {**decide, "decided_at": "2017-03-01", "confirmed": "1"}
    )
    assert done.status_code == 303, done.text
    received = dt.datetime.fromisoformat(RECEIVED)
    assert await _decided_and_closed(engine, first) == ("decision", received, None, None)

    case = await get_page(https_client, path)
    assert "Abschlussdatum" in case.text
    close = {"_csrf": csrf_of(case.text)}
    early = await post_form(https_client, path + "/abschliessen", {**close, "closed_at": "2017-02-27"})
    assert_html(early, 422)
    assert_error_summary(early.text, expected={"closed_at"})
    assert "Abschlussdatum: Der Abschluss kann nicht vor der Entscheidung liegen." in text_of(early.text)
    closed = await post_form(
        https_client, path + "/abschliessen", {**close, "closed_at": "2017-03-31", "confirmed": "1"}
    )
    assert closed.status_code == 303, closed.text
    # Any other day stands for its start in Dresden, as on the entry page.
    start = dt.datetime(2017, 3, 31, tzinfo=ZoneInfo("Europe/Berlin"))
    assert await _decided_and_closed(engine, first) == ("closed", received, start, None)

    # The handler is offered no date; one posted anyway is refused, and nothing is written.
    token = csrf_of((await get_page(https_client, path)).text)
    assert (await post_form(https_client, "/abmelden", {"_csrf": token})).status_code == 303
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_HANDLER, identity_clock)
    other = f"/beschwerdestelle/beschwerden/{second}"
    case = await get_page(https_client, other)
    assert "Entscheidung" in case.text
    assert "Entscheidungsdatum" not in case.text
    refused = await post_form(
        https_client,
        other + "/entscheidung",
        {"_csrf": csrf_of(case.text), "outcome": "justified", "final": "0", "decided_at": "2017-03-20"},
    )
    assert_html(refused, 422)
    assert "Ein früheres Datum darf nur die Leitung der Beschwerdestelle eintragen" in text_of(refused.text)
    assert await _decided_and_closed(engine, second) == ("in_progress", None, None, None)
