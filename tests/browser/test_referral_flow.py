"""Police referral -> WEISSER RING accepts -> contact -> close, in a real browser, axe on every page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.pages import sign_in, sign_out
from tests.browser.support import LiveServer, assert_accessible

pytestmark = pytest.mark.browser


def test_police_referral_is_accepted_contacted_and_closed(page: Any, server: LiveServer) -> None:
    sign_in(page, server, "officer.dresden")
    assert page.url.endswith("/polizei")
    assert_accessible(page, "referral-01-police-list")

    page.get_by_role("link", name="Neue Vermittlung").click()
    assert_accessible(page, "referral-02-consent")
    page.get_by_role("button", name="Weiter zu den Angaben").click()
    expect(page.get_by_role("alert")).to_be_visible()  # the consent is required
    assert_accessible(page, "referral-03-consent-errors")
    page.get_by_label("die betroffene Person selbst").check()
    page.get_by_label("schriftlich").check()
    page.get_by_label("Die Einwilligung umfasst die Übermittlung").check()
    page.get_by_role("button", name="Weiter zu den Angaben").click()

    assert_accessible(page, "referral-04-details")
    page.get_by_label("Name").fill("Mira Testperson")
    page.get_by_label("Postleitzahl").fill("01099")
    page.get_by_label("Bevorzugter Kontaktweg").select_option("sms")
    page.get_by_label("Deliktsbereich").select_option("bodily_harm")
    # Only the month is known; yesterday's month is never in the future, whatever the time zone.
    page.get_by_label("Datum der Tat").fill((dt.date.today() - dt.timedelta(days=1)).strftime("%m.%Y"))
    page.get_by_label("Sachverhalt").fill("Angriff an der Haltestelle; Prellungen.")
    page.get_by_label("menschlicher Beistand und persönliche Betreuung").check()
    page.get_by_role("button", name="Vermittlung übermitteln").click()
    # No way to reach the person yet, and SMS needs a phone number: both said at once, at their fields.
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page).to_have_title(re.compile("^Fehler:"))
    assert_accessible(page, "referral-04a-details-errors")
    page.get_by_role("link", name=re.compile("^Kontaktangaben: Bitte geben Sie mindestens")).click()
    page.get_by_label("Telefon").fill("+49 351 5550199")
    page.get_by_role("button", name="Vermittlung übermitteln").click()
    page.wait_for_url("**/polizei?meldung=vermittlung_aussenstelle")
    expect(page.get_by_role("status").first).to_be_visible()
    link = page.locator('tbody a[href^="/polizei/vermittlungen/"]').first
    found = re.search(r"/polizei/vermittlungen/([0-9a-f-]{36})", link.get_attribute("href") or "")
    assert found
    referral_id = found.group(1)
    assert_accessible(page, "referral-05-police-list-sent")
    link.click()
    assert_accessible(page, "referral-06-police-detail")

    # Until a branch accepts, the station may correct what it sent.
    page.get_by_role("link", name="Angaben korrigieren").click()
    assert page.get_by_label("Name").input_value() == "Mira Testperson"
    assert_accessible(page, "referral-06a-correction")
    page.get_by_label("Name").fill("")
    page.get_by_role("button", name="Korrektur speichern").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "referral-06b-correction-errors")
    page.get_by_role("link", name="Name: Bitte füllen Sie dieses Feld aus.").click()
    page.get_by_label("Name").fill("Mira Testperson")
    page.get_by_label("Sachverhalt").fill("Angriff an der Haltestelle; Prellungen am Arm.")
    page.get_by_role("button", name="Korrektur speichern").click()
    page.wait_for_url(f"**/polizei/vermittlungen/{referral_id}?meldung=angaben_korrigiert")
    expect(page.get_by_text("Prellungen am Arm.")).to_be_visible()
    assert_accessible(page, "referral-06c-police-detail-corrected")
    sign_out(page)

    sign_in(page, server, "volunteer.dresden")
    assert page.url.endswith("/weisser-ring")
    assert_accessible(page, "referral-07-wr-inbox")
    page.locator(f'a[href="/weisser-ring/faelle/{referral_id}"]').click()
    expect(page.get_by_text("Kontaktdaten sind erst nach der Annahme sichtbar.")).to_be_visible()
    assert_accessible(page, "referral-08-wr-case-new")
    page.get_by_role("button", name="Fall annehmen").click()
    expect(page.get_by_text("Sie haben den Fall angenommen.")).to_be_visible()
    expect(page.get_by_text("+49 351 5550199")).to_be_visible()
    expect(page.locator(".dl-row", has_text="Bevorzugter Kontaktweg")).to_contain_text("SMS")
    assert_accessible(page, "referral-09-wr-case-accepted")

    # The next step comes first; the rarer ones wait folded away.
    expect(page.get_by_role("button", name="Kontaktversuch erfassen")).to_be_hidden()
    first_contact = page.locator("#f-action-first_contact")
    first_contact.get_by_label("Telefon").check()
    first_contact.get_by_role("button", name="Erstkontakt erfassen").click()
    expect(page.get_by_text("Der Erstkontakt ist erfasst.")).to_be_visible()

    closing = page.locator("#f-action-close")
    closing.get_by_label("unterstützt").check()
    closing.get_by_label("Beratungsscheck für eine anwaltliche Erstberatung").check()
    closing.get_by_role("button", name="Fall abschließen").click()
    page.get_by_role("heading", name="Fall als „unterstützt“ abschließen?").wait_for()
    assert_accessible(page, "referral-09a-wr-close-confirm")
    page.get_by_role("button", name="Ja, Fall abschließen").click()
    expect(page.get_by_text("Der Fall ist abgeschlossen.")).to_be_visible()
    assert_accessible(page, "referral-10-wr-case-closed")
    sign_out(page)

    sign_in(page, server, "officer.dresden")
    row = page.locator("tr", has=page.locator(f'a[href="/polizei/vermittlungen/{referral_id}"]'))
    assert "abgeschlossen" in row.inner_text()
    assert "unterstützt" in row.inner_text()
    page.locator(f'a[href="/polizei/vermittlungen/{referral_id}"]').click()
    assert "Mira Testperson" not in page.content()  # after acceptance the police see feedback only
    # The contact deadline is named with its configured hours (default 72).
    expect(page.get_by_text("Erstkontakt innerhalb von 72 Stunden")).to_be_visible()
    assert_accessible(page, "referral-11-police-feedback")
