"""Complaint pages: the public form and receipt, the complainant's page, the office, statement requests."""

from __future__ import annotations

import re
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from complaints.domain import (
    Category,
    Channel,
    ComplainantKind,
    ComplaintStatus,
    ComplaintType,
    ForwardReason,
    MessageVisibility,
    NoDecisionReason,
    Outcome,
    PublicStatus,
)
from complaints.pages import COMPLAINANT_COOKIE
from referral_service.identity.roles import Role
from referral_service.web.i18n import catalogue
from tests.complaints.support import ANSWER, DESCRIPTION, FACTS, NAME, QUESTION, REPLY
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.complaint_support import (
    CASE_LINK,
    CODE,
    REFERENCE,
    anonymous_form,
    count,
    open_my_complaint,
    submit,
    submitted,
)
from tests.web.support import Client, assert_html, csrf_of, get_page, post_form, sign_in, text_of


def test_every_complaint_value_has_a_label_in_both_languages() -> None:
    for language in ("de", "en"):
        texts = catalogue(language)
        for prefix, enum in (
            ("complaint.type", ComplaintType),
            ("complaint.kind", ComplainantKind),
            ("complaint.category", Category),
            ("complaint.channel", Channel),
            ("complaint.status", ComplaintStatus),
            ("complaint.public_status", PublicStatus),
            ("complaint.public_status_text", PublicStatus),
            ("complaint.outcome", Outcome),
            ("complaint.no_decision_reason", NoDecisionReason),
            ("complaint.forward_reason", ForwardReason),
            ("complaint.visibility", MessageVisibility),
        ):
            missing = [value for value in enum if f"{prefix}.{value}" not in texts]
            assert not missing, (language, prefix, missing)


async def test_anonymous_complaint_gets_a_receipt_shown_once(
    https_client: Client, engine: AsyncEngine
) -> None:
    response = await submit(https_client)
    assert_html(response, 201)
    assert response.headers["cache-control"] == "no-store"
    assert "Ihre Beschwerde ist eingegangen" in response.text
    assert "Bitte jetzt notieren oder ausdrucken" in response.text
    assert REFERENCE.search(response.text)
    assert CODE.search(response.text)
    assert "data-print" in response.text  # the print button (shown by app.js)
    assert await count(engine) == 1


async def test_the_form_is_validated_with_messages_next_to_the_fields(
    https_client: Client, engine: AsyncEngine
) -> None:
    empty = await submit(https_client, complainant_kind="", category="", description="")
    assert_html(empty, 422)
    for field in ("complainant_kind", "category", "description"):
        assert f'id="f-{field}-error"' in empty.text, field
    anonymous_with_name = await submit(https_client, name=NAME)
    assert_html(anonymous_with_name, 422)
    assert "Bei einer anonymen Beschwerde lassen Sie Name" in anonymous_with_name.text
    assert 'id="f-name-error"' in anonymous_with_name.text
    assert DESCRIPTION in anonymous_with_name.text  # what was typed stays
    citizen_without_name = await submit(https_client, complainant_kind="citizen")
    assert_html(citizen_without_name, 422)
    assert "Bitte geben Sie Ihren Namen an" in citizen_without_name.text
    future = await submit(https_client, incident_date="2027-01-01")
    assert_html(future, 422)
    assert 'id="f-incident_date-error"' in future.text
    assert await count(engine) == 0


async def test_the_form_needs_its_token(https_client: Client, engine: AsyncEngine) -> None:
    await get_page(https_client, "/beschwerde")
    response = await post_form(https_client, "/beschwerde", anonymous_form())
    assert_html(response, 400)
    assert await count(engine) == 0


async def test_the_complainant_reads_the_status_writes_and_leaves(https_client: Client) -> None:
    reference, code = await submitted(https_client)
    wrong = await open_my_complaint(https_client, reference, "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF")
    assert_html(wrong, 422)
    assert "Aktenzeichen oder Zugangscode sind nicht richtig." in wrong.text
    assert "AAAA-BBBB" not in wrong.text  # the code is never echoed
    opened = await open_my_complaint(https_client, reference.lower(), code.lower().replace("-", " "))
    assert opened.status_code == 303
    assert opened.headers["location"] == "/beschwerde/meine"
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith(f"{COMPLAINANT_COOKIE}=")
    assert "httponly" in cookie.lower()
    assert "samesite=strict" in cookie.lower()
    assert code not in cookie
    assert reference not in cookie

    mine = await get_page(https_client, "/beschwerde/meine")
    assert_html(mine)
    assert f"Ihre Beschwerde {reference}" in mine.text
    assert "eingegangen" in mine.text
    token = csrf_of(mine.text)
    empty = await post_form(https_client, "/beschwerde/meine/nachricht", {"_csrf": token, "body": ""})
    assert_html(empty, 422)
    sent = await post_form(
        https_client,
        "/beschwerde/meine/nachricht",
        {"_csrf": token, "body": "Ich habe ein Foto des Vorfalls."},
    )
    assert sent.headers["location"] == "/beschwerde/meine?meldung=nachricht_gesendet"
    assert "Ich habe ein Foto des Vorfalls." in (await get_page(https_client, sent.headers["location"])).text

    left = await post_form(https_client, "/beschwerde/meine/abmelden", {"_csrf": token})
    assert left.headers["location"] == "/beschwerde/status?abgemeldet=1"
    again = await get_page(https_client, "/beschwerde/meine")
    assert again.headers["location"] == "/beschwerde/status?abgelaufen=1"


async def test_office_triage_statement_decision_and_the_reply_reaches_the_complainant(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    station = demo_directory.unit("rev-dresden-nord")
    reference, code = await submitted(https_client, police_unit_id=str(station.id))

    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    assert '<a href="/beschwerdestelle">' in (await get_page(https_client, "/")).text  # on the start page
    queue = await get_page(https_client, "/beschwerdestelle")
    assert_html(queue)
    found = re.search(r'href="/beschwerdestelle/beschwerden/([0-9a-f-]{36})">' + reference, queue.text)
    assert found
    case_path = f"/beschwerdestelle/beschwerden/{found.group(1)}"
    case = await get_page(https_client, case_path)
    assert_html(case)
    assert DESCRIPTION in case.text
    assert "Eingegangen (Online-Formular)" in case.text  # the timeline
    token = csrf_of(case.text)

    triaged = await post_form(
        https_client,
        case_path + "/erstbewertung",
        {"_csrf": token, "category": "conduct_on_duty", "police_unit_id": str(station.id), "complete": "on"},
    )
    assert triaged.headers["location"] == case_path + "?meldung=erstbewertung"
    requested = await post_form(
        https_client,
        case_path + "/stellungnahme-anfordern",
        {"_csrf": token, "question": QUESTION, "released_facts": FACTS},
    )
    assert requested.headers["location"] == case_path + "?meldung=stellungnahme_angefordert"
    case = await get_page(https_client, case_path)
    assert "Stellungnahme angefordert bei Polizeirevier Dresden-Nord" in text_of(case.text)
    assert "ruht (Stellungnahme angefordert)" in case.text
    https_client.cookies.clear()

    await sign_in(https_client, demo_directory, Role.POLICE_SUPERVISOR, identity_clock)
    requests = await get_page(https_client, "/stellungnahmen")
    assert_html(requests)
    link = re.search(r'href="/stellungnahmen/([0-9a-f-]{36})"', requests.text)
    assert link
    item = await get_page(https_client, f"/stellungnahmen/{link.group(1)}")
    assert_html(item)
    assert QUESTION in item.text
    assert FACTS in item.text
    assert DESCRIPTION not in item.text  # the unit sees what it needs, not the complaint
    assert "nicht mitgeteilt" in item.text
    answered = await post_form(
        https_client,
        f"/stellungnahmen/{link.group(1)}/antwort",
        {"_csrf": csrf_of(item.text), "answer": ANSWER},
    )
    assert answered.status_code == 303
    again = await post_form(
        https_client, f"/stellungnahmen/{link.group(1)}/antwort", {"_csrf": csrf_of(item.text), "answer": "x"}
    )
    assert_html(again, 409)
    https_client.cookies.clear()

    identity_clock.advance(seconds=60)  # a fresh one-time code for the second sign-in
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    case = await get_page(https_client, case_path)
    assert ANSWER in case.text
    token = csrf_of(case.text)
    missing_reason = await post_form(
        https_client, case_path + "/entscheidung", {"_csrf": token, "outcome": "no_decision", "final": "1"}
    )
    assert_html(missing_reason, 422)
    assert 'id="f-no_decision_reason-error"' in missing_reason.text
    decided = await post_form(
        https_client,
        case_path + "/entscheidung",
        {"_csrf": token, "outcome": "partly_justified", "reply": REPLY, "final": "1", "confirmed": "1"},
    )
    assert decided.headers["location"] == case_path + "?meldung=entschieden"
    closed = await post_form(https_client, case_path + "/abschliessen", {"_csrf": token, "confirmed": "1"})
    assert closed.headers["location"] == case_path + "?meldung=beschwerde_abgeschlossen"
    https_client.cookies.clear()

    assert (await open_my_complaint(https_client, reference, code)).status_code == 303
    mine = text_of((await get_page(https_client, "/beschwerde/meine")).text)
    assert "abgeschlossen" in mine
    assert "teilweise begründet" in mine
    assert REPLY in mine
    assert ANSWER not in mine
    assert QUESTION not in mine
    assert "Die Bearbeitung ist beendet." in mine


async def test_handlers_draft_but_only_the_lead_decides(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await submitted(https_client)
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    queue = await get_page(https_client, "/beschwerdestelle")
    found = re.search(r'href="(/beschwerdestelle/beschwerden/[0-9a-f-]{36})"', queue.text)
    assert found
    case_path = found.group(1)
    token = csrf_of(queue.text)
    handler = demo_directory.account(Role.COMPLAINTS_HANDLER)
    await post_form(
        https_client, case_path + "/zuweisen", {"_csrf": token, "assignee_id": str(handler.user_id)}
    )
    await post_form(
        https_client, case_path + "/erstbewertung", {"_csrf": token, "category": "other", "complete": "on"}
    )
    https_client.cookies.clear()

    await sign_in(https_client, demo_directory, Role.COMPLAINTS_HANDLER, identity_clock)
    case = await get_page(https_client, case_path)
    assert_html(case)
    assert "Entwurf speichern" in case.text
    assert 'name="final" value="1"' not in case.text  # no "decide" button for handlers
    token = csrf_of(case.text)
    refused = await post_form(
        https_client, case_path + "/entscheidung", {"_csrf": token, "outcome": "unjustified", "final": "1"}
    )
    assert_html(refused, 403)
    assert "Entscheiden darf nur die Leitung" in refused.text
    draft = await post_form(
        https_client, case_path + "/entscheidung", {"_csrf": token, "outcome": "unjustified", "final": "0"}
    )
    assert draft.headers["location"] == case_path + "?meldung=entwurf_gespeichert"


async def test_office_pages_keep_the_scope_of_the_api(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    reference, _ = await submitted(https_client)
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_HANDLER, identity_clock)
    queue = await get_page(https_client, "/beschwerdestelle")
    # Offered to take (not assigned to anybody), but not to open before taking it.
    assert reference in queue.text
    assert "Übernehmen" in queue.text
    assert CASE_LINK.search(queue.text) is None
    assert_html(await get_page(https_client, f"/beschwerdestelle/beschwerden/{uuid.uuid4()}"), 404)
    https_client.cookies.clear()
    await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    assert_html(await get_page(https_client, "/beschwerdestelle"), 403)
    assert_html(await get_page(https_client, "/stellungnahmen"), 403)


async def test_the_receipt_in_english(https_client: Client) -> None:
    await https_client.get("/sprache/en?weiter=/beschwerde")
    form = await get_page(https_client, "/beschwerde")
    assert '<html lang="en">' in form.text
    assert "Complain about the police" in form.text
    response = await post_form(https_client, "/beschwerde", {"_csrf": csrf_of(form.text), **anonymous_form()})
    assert_html(response, 201)
    assert "Your complaint has been received" in response.text
    assert "Please write this down or print it now" in response.text
