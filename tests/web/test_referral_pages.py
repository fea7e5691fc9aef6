"""Referral pages: the police's consent step and form, the branch inbox and case page, the state office."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.identity.roles import Role
from referral_service.referrals.domain import (
    CloseOutcome,
    ConsentForm,
    ConsentGiver,
    ContactChannel,
    DeclineReason,
    OffenceCategory,
    ReferralStatus,
    SupportKind,
    Urgency,
)
from referral_service.web.formatting import local_input_value
from referral_service.web.i18n import catalogue
from tests.identity.support import DemoDirectory, FakeClock
from tests.referrals.support import CIRCUMSTANCES, VICTIM_NAME, VICTIM_PHONE
from tests.web.referral_forms import (
    CASE_LINK,
    case_ids,
    consent_form,
    count_referrals,
    police_referral_ids,
    refer,
    referral_form,
)
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


def test_every_referral_value_has_a_label_in_both_languages() -> None:
    for language in ("de", "en"):
        texts = catalogue(language)
        for prefix, enum in (
            ("referral.status", ReferralStatus),
            ("referral.offence", OffenceCategory),
            ("referral.support", SupportKind),
            ("referral.urgency", Urgency),
            ("referral.consent_giver", ConsentGiver),
            ("referral.consent_form", ConsentForm),
            ("referral.channel", ContactChannel),
            ("referral.outcome", CloseOutcome),
            ("referral.decline_reason", DeclineReason),
        ):
            missing = [value for value in enum if f"{prefix}.{value}" not in texts]
            assert not missing, (language, prefix, missing)


async def test_the_consent_step_comes_first_and_is_required(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    form = await get_page(https_client, "/polizei/vermittlungen/neu")
    assert_html(form)
    assert "Einwilligung" in form.text
    assert 'name="victim_name"' not in form.text  # the details come only after the consent
    token = csrf_of(form.text)
    refused = await post_form(https_client, "/polizei/vermittlungen/neu/einwilligung", {"_csrf": token})
    assert_html(refused, 422)
    for field in ("consent_given_by", "consent_form", "consent_scope"):
        assert f'id="f-{field}-error"' in refused.text, field
    assert "Bitte bestätigen Sie den Umfang der Einwilligung." in refused.text
    future = await post_form(
        https_client,
        "/polizei/vermittlungen/neu/einwilligung",
        {
            "_csrf": token,
            **consent_form(
                identity_clock,
                consent_given_at=local_input_value(identity_clock.now() + dt.timedelta(days=1)),
            ),
        },
    )
    assert_html(future, 422)
    assert "nicht in der Zukunft" in future.text
    # The first minute of year 1, local time, lies before what UTC can hold: an error on the field.
    year_one = await post_form(
        https_client,
        "/polizei/vermittlungen/neu/einwilligung",
        {"_csrf": token, **consent_form(identity_clock, consent_given_at="0001-01-01T00:00")},
    )
    assert_html(year_one, 422)
    assert 'id="f-consent_given_at-error"' in year_one.text
    # Skipping the step does not help: the final post checks the consent again.
    without_consent = {k: v for k, v in referral_form(identity_clock).items() if not k.startswith("consent_")}
    skipped = await post_form(https_client, "/polizei/vermittlungen", {"_csrf": token, **without_consent})
    assert_html(skipped, 422)
    assert 'name="consent_given_by"' in skipped.text  # the consent fields come back, editable
    assert await count_referrals(engine) == 0


async def test_details_are_validated_with_messages_next_to_the_fields(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    response = await refer(
        https_client, identity_clock, victim_name="", postcode="1234", email="no-address", circumstances=""
    )
    assert_html(response, 422)
    page_text = response.text
    assert "Bitte füllen Sie dieses Feld aus." in page_text
    assert "Die Postleitzahl besteht aus 5 Ziffern." in page_text
    assert "E-Mail-Adresse" in page_text
    for field in ("victim_name", "postcode", "email", "circumstances"):
        assert f'id="f-{field}-error"' in page_text, field
        assert f'href="#f-{field}"' in page_text, field
    # The consent recorded in step 1 is kept (hidden) and shown, not asked again.
    assert 'type="hidden" name="consent_given_by" value="victim"' in page_text
    assert "Dokumentierte Einwilligung" in page_text
    assert await count_referrals(engine) == 0


async def test_police_refer_and_follow_the_status_feedback_only(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    response = await refer(https_client, identity_clock)
    assert response.status_code == 303
    assert response.headers["location"] == "/polizei?meldung=vermittlung_aussenstelle"
    listing = await get_page(https_client, response.headers["location"])
    assert_html(listing)
    assert "zuständigen Außenstelle" in listing.text
    assert "übermittelt, noch nicht angenommen" in listing.text
    assert VICTIM_NAME not in listing.text  # lists never show personal data
    referral_id = re.search(r'href="/polizei/vermittlungen/([0-9a-f-]{36})"', listing.text)
    assert referral_id
    detail = await get_page(https_client, f"/polizei/vermittlungen/{referral_id.group(1)}")
    assert_html(detail)
    assert VICTIM_NAME in detail.text  # until acceptance the station may check what it sent
    assert await count_referrals(engine) == 1


async def test_branch_accepts_contacts_and_closes_and_the_police_see_the_outcome(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    assert (await refer(https_client, identity_clock)).status_code == 303
    https_client.cookies.clear()

    await sign_in(https_client, routed, "volunteer.dresden", identity_clock)
    inbox = await get_page(https_client, "/weisser-ring")
    assert_html(inbox)
    [case_id] = CASE_LINK.findall(inbox.text)
    case = await get_page(https_client, f"/weisser-ring/faelle/{case_id}")
    assert_html(case)
    assert "Kontaktdaten sind erst nach der Annahme sichtbar." in case.text
    assert VICTIM_PHONE not in case.text
    token = csrf_of(case.text)

    accepted = await post_form(https_client, f"/weisser-ring/faelle/{case_id}/annehmen", {"_csrf": token})
    assert accepted.status_code == 303
    case = await get_page(https_client, accepted.headers["location"])
    assert "Sie haben den Fall angenommen." in case.text
    assert VICTIM_PHONE in case.text

    again = await post_form(https_client, f"/weisser-ring/faelle/{case_id}/annehmen", {"_csrf": token})
    assert_html(again, 409)
    assert "nicht möglich" in again.text

    contact = await post_form(
        https_client,
        f"/weisser-ring/faelle/{case_id}/erstkontakt",
        {"_csrf": token, "contact_channel": "phone"},
    )
    assert contact.status_code == 303
    unsupported = await post_form(
        https_client, f"/weisser-ring/faelle/{case_id}/abschliessen", {"_csrf": token, "outcome": "supported"}
    )
    assert_html(unsupported, 422)
    assert 'id="f-support_given-error"' in unsupported.text
    closed = await post_form(
        https_client,
        f"/weisser-ring/faelle/{case_id}/abschliessen",
        {
            "_csrf": token,
            "outcome": "supported",
            "support_given": ["personal_support", "legal_advice_voucher"],
            "confirmed": "1",  # closing asks first (tests/web/test_wr_case_page.py)
        },
    )
    assert closed.status_code == 303
    assert "abgeschlossen" in (await get_page(https_client, closed.headers["location"])).text
    https_client.cookies.clear()

    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    listing = text_of((await get_page(https_client, "/polizei")).text)
    assert "abgeschlossen" in listing
    assert "unterstützt: Beratungsscheck für eine anwaltliche Erstberatung, menschlicher Beistand" in listing
    assert "innerhalb von 72 Stunden" in listing
    detail = await get_page(https_client, f"/polizei/vermittlungen/{case_id}")
    assert VICTIM_NAME not in detail.text  # after acceptance: feedback only
    assert CIRCUMSTANCES not in detail.text


async def test_after_acceptance_the_station_page_shows_the_status_feedback_with_the_deadline(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    assert (await refer(https_client, identity_clock)).status_code == 303
    https_client.cookies.clear()
    await sign_in(https_client, routed, "volunteer.dresden", identity_clock)
    [case_id] = await case_ids(https_client)
    token = csrf_of((await get_page(https_client, f"/weisser-ring/faelle/{case_id}")).text)
    accepted = await post_form(https_client, f"/weisser-ring/faelle/{case_id}/annehmen", {"_csrf": token})
    assert accepted.status_code == 303
    contact = await post_form(
        https_client,
        f"/weisser-ring/faelle/{case_id}/erstkontakt",
        {"_csrf": token, "contact_channel": "phone"},
    )
    assert contact.status_code == 303
    https_client.cookies.clear()

    # The station's list links the case; the link leads to its status feedback, not to "not found".
    for who in (Role.POLICE_OFFICER, Role.POLICE_SUPERVISOR):
        await sign_in(https_client, routed, who, identity_clock)
        listing = await get_page(https_client, "/polizei")
        assert f'href="/polizei/vermittlungen/{case_id}"' in listing.text
        detail = await get_page(https_client, f"/polizei/vermittlungen/{case_id}")
        assert_html(detail)
        shown = text_of(detail.text)
        assert "Status in Kontakt" in shown
        assert "Erstkontakt innerhalb von 72 Stunden ja" in shown
        assert "nach der Annahme durch den WEISSER RING für die Polizei nicht mehr einsehbar" in shown
        assert VICTIM_NAME not in detail.text
        assert CIRCUMSTANCES not in detail.text
        https_client.cookies.clear()


async def test_overdue_referrals_are_marked_in_the_inbox(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, referral_clock: FakeClock
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    await refer(https_client, identity_clock)
    https_client.cookies.clear()
    await sign_in(https_client, routed, "branchlead.dresden", identity_clock)
    fresh = await get_page(https_client, "/weisser-ring")
    assert "Annahme überfällig" not in fresh.text
    referral_clock.advance(hours=25)
    late = await get_page(https_client, "/weisser-ring")
    assert 'class="overdue"' in late.text
    assert "Annahme überfällig" in late.text  # said in words, not by colour alone
    referral_clock.advance(hours=48)
    later = await get_page(https_client, "/weisser-ring")
    assert "Erstkontakt überfällig" in later.text


async def test_the_inbox_refreshes_as_a_fragment_for_htmx(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, routed, "volunteer.dresden", identity_clock)
    fragment = await https_client.get("/weisser-ring", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="inbox">')
    assert "<html" not in fragment.text


async def test_unrouted_referrals_reach_the_state_office_which_routes_them(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    response = await refer(https_client, identity_clock, postcode="99999")
    assert response.headers["location"] == "/polizei?meldung=vermittlung_landesbuero"
    https_client.cookies.clear()

    await sign_in(https_client, routed, Role.WR_STATE_OFFICE, identity_clock)
    assert '<a href="/weisser-ring/landesbuero">' in (await get_page(https_client, "/")).text  # start page
    queue = await get_page(https_client, "/weisser-ring/landesbuero")
    assert_html(queue)
    [case_id] = CASE_LINK.findall(queue.text)
    case = await get_page(https_client, f"/weisser-ring/faelle/{case_id}")
    assert "Einer Außenstelle zuordnen" in case.text
    token = csrf_of(case.text)
    missing = await post_form(https_client, f"/weisser-ring/faelle/{case_id}/weiterleiten", {"_csrf": token})
    assert_html(missing, 422)
    routed_to = await post_form(
        https_client,
        f"/weisser-ring/faelle/{case_id}/weiterleiten",
        {"_csrf": token, "branch_id": str(routed.unit("wr-dresden").id)},
    )
    assert routed_to.headers["location"] == "/weisser-ring/landesbuero?meldung=weitergeleitet"
    https_client.cookies.clear()

    await sign_in(https_client, routed, "volunteer.dresden", identity_clock)
    assert await case_ids(https_client) == [case_id]


async def test_withdrawal_of_consent_needs_a_confirmation_and_erases_the_data(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    await refer(https_client, identity_clock)
    listing = await get_page(https_client, "/polizei")
    found = re.search(r'href="/polizei/vermittlungen/([0-9a-f-]{36})"', listing.text)
    assert found
    path = f"/polizei/vermittlungen/{found.group(1)}"
    token = csrf_of(listing.text)
    unconfirmed = await post_form(https_client, path + "/einwilligung-widerrufen", {"_csrf": token})
    assert_html(unconfirmed, 422)
    assert "Bitte bestätigen Sie den Widerruf." in unconfirmed.text
    # The second step states the consequence and changes nothing yet.
    attested = {"_csrf": token, "confirm": "on"}
    asked = await post_form(https_client, path + "/einwilligung-widerrufen", attested)
    assert_html(asked)
    assert "werden sofort und endgültig gelöscht" in text_of(asked.text)
    assert 'name="confirm" value="on"' in asked.text  # the attestation is carried to the second step
    assert VICTIM_NAME in (await get_page(https_client, path)).text
    done = await post_form(
        https_client, path + "/einwilligung-widerrufen", {"_csrf": token, "confirm": "on", "confirmed": "1"}
    )
    assert done.status_code == 303
    detail = await get_page(https_client, done.headers["location"])
    assert "Alle personenbezogenen Daten der Vermittlung wurden gelöscht." in detail.text
    assert VICTIM_NAME not in detail.text


async def test_pages_keep_the_scope_of_the_api(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    await refer(https_client, identity_clock)
    found = re.search(
        r'href="/polizei/vermittlungen/([0-9a-f-]{36})"', (await get_page(https_client, "/polizei")).text
    )
    assert found
    referral_id = found.group(1)
    # The police are sent to their own page for a case, never to the branch's case page.
    redirected = await get_page(https_client, f"/weisser-ring/faelle/{referral_id}")
    assert redirected.headers["location"] == f"/polizei/vermittlungen/{referral_id}"
    https_client.cookies.clear()

    await sign_in(https_client, routed, "officer.leipzig", identity_clock)
    assert_html(await get_page(https_client, f"/polizei/vermittlungen/{referral_id}"), 404)
    assert_html(await get_page(https_client, f"/polizei/vermittlungen/{uuid.uuid4()}"), 404)
    https_client.cookies.clear()

    await sign_in(https_client, routed, "volunteer.leipzig", identity_clock)
    assert await case_ids(https_client) == []
    assert_html(await get_page(https_client, f"/weisser-ring/faelle/{referral_id}"), 404)
    # A page of another role: 403 in words.
    forbidden = await get_page(https_client, "/polizei/vermittlungen/neu")
    assert_html(forbidden, 403)
    assert "Keine Berechtigung" in forbidden.text


@pytest.mark.parametrize("path", ["/weisser-ring/faelle/{id}/annehmen", "/polizei/vermittlungen"])
async def test_form_posts_without_the_session_token_are_refused(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, path: str
) -> None:
    await sign_in(https_client, routed, Role.WR_BRANCH_LEAD, identity_clock)
    response = await post_form(https_client, path.format(id=uuid.uuid4()), {"outcome": "supported"})
    assert_html(response, 403)
    assert "Das Formular ist abgelaufen" in response.text


async def test_english_pages_use_the_english_catalogue(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    await https_client.get("/sprache/en?weiter=/polizei", headers=HTML)
    page_html = (await get_page(https_client, "/polizei/vermittlungen/neu")).text
    assert '<html lang="en">' in page_html
    assert "New referral: consent" in page_html
    assert "Einwilligung" not in text_of(page_html).replace("Leichte Sprache", "")


async def test_the_consent_step_reports_every_error_at_once(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    token = csrf_of((await get_page(https_client, "/polizei/vermittlungen/neu")).text)
    empty = await post_form(https_client, "/polizei/vermittlungen/neu/einwilligung", {"_csrf": token})
    assert_html(empty, 422)
    assert_error_summary(
        empty.text, expected={"consent_given_by", "consent_given_at", "consent_form", "consent_scope"}
    )
    wrong = await post_form(
        https_client,
        "/polizei/vermittlungen/neu/einwilligung",
        {
            "_csrf": token,
            "consent_given_by": "neighbour",
            "consent_given_at": local_input_value(identity_clock.now() + dt.timedelta(days=1)),
            "consent_form": "telepathic",
        },
    )
    assert_html(wrong, 422)
    assert_error_summary(
        wrong.text, expected={"consent_given_by", "consent_given_at", "consent_form", "consent_scope"}
    )
    assert "Einwilligung erteilt durch: Bitte wählen Sie" in text_of(wrong.text)
    assert "Zeitpunkt der Einwilligung: Der Zeitpunkt der Einwilligung darf nicht in der Zukunft" in text_of(
        wrong.text
    )


async def test_the_details_report_every_error_at_once_in_page_order(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    token = csrf_of((await get_page(https_client, "/polizei/vermittlungen/neu")).text)
    empty = await post_form(
        https_client, "/polizei/vermittlungen", {"_csrf": token, **consent_form(identity_clock)}
    )
    assert_html(empty, 422)
    assert_error_summary(
        empty.text,
        expected={
            "victim_name",
            "contact",
            "postcode",
            "offence_category",
            "incident_date",
            "circumstances",
            "urgency",
        },
    )
    wrong = await refer(
        https_client,
        identity_clock,
        postcode="1234",
        phone="12",
        email="erika@example",
        city="",
        preferred_channel="letter",  # no street, no town: no letter can reach the person
        incident_date="31.02.2026",
        case_number="x",
        circumstances="",
    )
    assert_html(wrong, 422)
    assert_error_summary(
        wrong.text,
        expected={
            "postcode",
            "phone",
            "email",
            "preferred_channel",
            "incident_date",
            "case_number",
            "circumstances",
        },
    )
    shown = text_of(wrong.text)
    assert "E-Mail: Bitte geben Sie eine E-Mail-Adresse im Format name@beispiel.de an." in shown
    assert "Bevorzugter Kontaktweg: Für diesen Weg fehlen die Angaben." in shown
    assert "Datum der Tat: Bitte geben Sie ein gültiges Datum an" in shown
    assert 'value="erika@example"' in wrong.text  # what was typed comes back, to be fixed
    assert await count_referrals(engine) == 0


async def test_a_victim_nobody_can_reach_is_not_referred(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    refused = await refer(
        https_client, identity_clock, phone="", city="", street_address="Kamenzer Straße 77"
    )
    assert_html(refused, 422)
    assert_error_summary(refused.text, expected={"contact"})
    message = "Bitte geben Sie mindestens eine Telefonnummer, eine E-Mail-Adresse oder die Anschrift"
    assert f"Kontaktangaben: {message}" in text_of(refused.text)
    assert 'id="f-contact-error"' in refused.text  # at the group of contact fields
    assert await count_referrals(engine) == 0
    # Street, postcode and town are an address to write to.
    sent = await refer(https_client, identity_clock, phone="", street_address="Kamenzer Straße 77")
    assert sent.status_code == 303, sent.text
    assert await count_referrals(engine) == 1


async def test_an_incident_date_in_the_future_is_refused_at_its_field(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    next_month = (identity_clock.now() + dt.timedelta(days=32)).strftime("%m.%Y")
    refused = await refer(https_client, identity_clock, incident_date=next_month)
    assert_html(refused, 422)
    assert_error_summary(refused.text, expected={"incident_date"})
    assert "Datum der Tat: Das Datum der Tat darf nicht in der Zukunft liegen." in text_of(refused.text)
    assert await count_referrals(engine) == 0


async def test_the_incident_month_and_the_preferred_channel_reach_the_branch_after_acceptance(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    sent = await refer(https_client, identity_clock, incident_date="03.2026", preferred_channel="sms")
    assert sent.status_code == 303, sent.text
    [referral_id] = await police_referral_ids(https_client)
    police = text_of((await get_page(https_client, f"/polizei/vermittlungen/{referral_id}")).text)
    assert "Datum der Tat März 2026" in police  # as precise as it was given
    assert "Bevorzugter Kontaktweg SMS" in police
    https_client.cookies.clear()

    await sign_in(https_client, routed, "volunteer.dresden", identity_clock)
    case_path = f"/weisser-ring/faelle/{referral_id}"
    case = await get_page(https_client, case_path)
    assert "Datum der Tat März 2026" in text_of(case.text)
    assert "Bevorzugter Kontaktweg" not in case.text  # contact data: only after acceptance
    accepted = await post_form(https_client, case_path + "/annehmen", {"_csrf": csrf_of(case.text)})
    assert accepted.status_code == 303
    assert "Bevorzugter Kontaktweg SMS" in text_of((await get_page(https_client, case_path)).text)
