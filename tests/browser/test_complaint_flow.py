"""Anonymous complaint with a photo -> office triage and statement -> decision -> the citizen reads the
reply; and a letter entered by the office."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.pages import sign_in, sign_out
from tests.browser.support import AtBothWidths, LiveServer, assert_accessible, keep_screenshot

pytestmark = pytest.mark.browser

DESCRIPTION = "Bei der Kontrolle am Albertplatz wurde ich grundlos angeschrien."
QUESTION = "Bitte nehmen Sie zur Kontrolle am Albertplatz Stellung."
ANSWER = "Die Kontrolle verlief nach unserer Kenntnis ruhig."
REPLY = "Ihre Beschwerde ist teilweise begründet. Wir haben mit den Beamten gesprochen."
PHOTO = {
    "name": "foto-albertplatz.png",
    "mimeType": "image/png",
    "buffer": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
}
LETTER = "Ich beschwere mich über die Behandlung bei meiner Anzeige auf dem Revier."


def test_anonymous_complaint_is_decided_and_the_citizen_reads_the_reply(
    page: Any, server: LiveServer
) -> None:
    page.goto(server.url("/beschwerde"))
    assert_accessible(page, "complaint-01-form")
    page.get_by_role("button", name="Beschwerde absenden").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "complaint-02-form-errors")
    page.get_by_label("Verhalten im Dienst").check()
    page.get_by_label("Beschreibung").fill(DESCRIPTION)
    page.get_by_label("Betroffene Polizeidienststelle").select_option(
        label="\u00a0\u00a0\u00a0\u00a0Polizeirevier Dresden-Nord"
    )
    page.get_by_label("anonym, ohne Namen").check()
    page.get_by_label("Dateien").set_input_files(PHOTO)
    page.get_by_role("button", name="Beschwerde absenden").click()
    expect(page.get_by_text(PHOTO["name"])).to_be_visible()  # the receipt names the attached file
    reference = page.inner_text("#reference")
    code = page.inner_text("#access-code")
    assert_accessible(page, "complaint-03-receipt")
    # The receipt prints without the site's header and buttons, with reference and code.
    expect(page.get_by_role("button", name="Seite drucken")).to_be_visible()
    page.emulate_media(media="print")
    assert page.locator("header.site-header").is_hidden()
    expect(page.locator("#access-code")).to_be_visible()
    keep_screenshot(page, "complaint-04-receipt-print")
    page.emulate_media(media="screen")

    sign_in(page, server, "complaints.lead")
    assert page.url.endswith("/beschwerdestelle")
    assert_accessible(page, "complaint-05-office-queue")
    page.get_by_role("link", name=reference).click()
    expect(page.get_by_text(DESCRIPTION)).to_be_visible()
    assert_accessible(page, "complaint-06-office-case")
    with page.expect_download() as download:
        page.get_by_role("link", name=PHOTO["name"]).click()
    assert download.value.suggested_filename.endswith(".png")
    assert PHOTO["name"] not in download.value.url  # ids only in addresses
    triage = page.locator("#f-action-triage")
    triage.get_by_role("button", name="Erstbewertung speichern").click()
    expect(page.get_by_text("Die Erstbewertung ist gespeichert.")).to_be_visible()
    request = page.locator("#f-action-request_statement")
    request.get_by_label("Frage").fill(QUESTION)
    request.get_by_role("button", name="Anfordern").click()
    expect(page.get_by_text("Die Stellungnahme ist angefordert")).to_be_visible()
    assert_accessible(page, "complaint-07-office-case-requested")
    case_url = page.url.split("?")[0]
    sign_out(page)

    sign_in(page, server, "supervisor.dresden")
    page.get_by_role("navigation", name="Arbeitsbereiche").get_by_role("link", name="Stellungnahmen").click()
    assert_accessible(page, "complaint-08-statements")
    page.get_by_role("link", name=f"Anfrage zu {reference}").click()
    expect(page.get_by_text(QUESTION)).to_be_visible()
    assert DESCRIPTION not in page.content()
    assert_accessible(page, "complaint-09-statement-request")
    page.get_by_role("textbox", name="Stellungnahme").fill(ANSWER)
    page.get_by_role("button", name="Stellungnahme übermitteln").click()
    expect(page.get_by_text("Ihre Stellungnahme wurde an die Beschwerdestelle übermittelt.")).to_be_visible()
    sign_out(page)

    sign_in(page, server, "complaints.lead")
    page.goto(case_url)
    expect(page.get_by_text(ANSWER)).to_be_visible()
    decision = page.locator("#f-action-decision")
    decision.get_by_label("teilweise begründet").check()
    decision.get_by_label("Antwort an die beschwerdeführende Person").fill(REPLY)
    decision.get_by_role("button", name="Entscheiden").click()
    # The second step states the consequence before anything is decided.
    page.get_by_role("heading", name=re.compile("endgültig entscheiden")).wait_for()
    expect(page.get_by_text("Die Entscheidung ist endgültig")).to_be_visible()
    assert_accessible(page, "complaint-10-office-confirm-decision")
    page.get_by_role("button", name="Ja, endgültig entscheiden").click()
    expect(page.get_by_text("Die Entscheidung ist getroffen.")).to_be_visible()
    assert_accessible(page, "complaint-10-office-decided")
    sign_out(page)

    expect(page.get_by_role("link", name="Beschwerde über die Polizei einreichen").first).to_be_visible()
    page.goto(server.url("/beschwerde/status"))
    assert_accessible(page, "complaint-11-status-form")
    page.get_by_label("Aktenzeichen").fill(reference)
    page.get_by_label("Zugangscode").fill(code.lower())
    page.get_by_role("button", name="Stand anzeigen").click()
    expect(page.get_by_role("heading", name=f"Ihre Beschwerde {reference}")).to_be_visible()
    expect(page.get_by_text(REPLY)).to_be_visible()
    expect(page.get_by_text("teilweise begründet").first).to_be_visible()
    assert ANSWER not in page.content()
    assert_accessible(page, "complaint-12-citizen-reads-reply")
    page.locator("#f-attachments").set_input_files({**PHOTO, "name": "zweites-foto.png"})
    page.get_by_role("button", name="Dateien hochladen").click()
    expect(page.get_by_text("Ihre Datei wurde hinzugefügt.")).to_be_visible()
    expect(page.get_by_text("zweites-foto.png")).to_be_visible()
    page.get_by_label("Ihre Nachricht").fill("Vielen Dank für die Antwort.")
    page.get_by_role("button", name="Nachricht senden").click()
    expect(page.get_by_text("Ihre Nachricht wurde gesendet.")).to_be_visible()
    page.get_by_role("button", name="Ansicht verlassen").click()
    expect(page.get_by_text("Sie haben die Ansicht Ihrer Beschwerde verlassen.")).to_be_visible()


def test_the_office_enters_a_complaint_received_by_letter(page: Any, server: LiveServer) -> None:
    sign_in(page, server, "complaints.handler")
    page.get_by_role("link", name="Beschwerde erfassen").click()
    expect(page.get_by_role("heading", name="Beschwerde erfassen")).to_be_visible()
    assert_accessible(page, "complaint-entry-01-form")
    page.get_by_role("button", name="Beschwerde speichern").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "complaint-entry-02-errors")
    page.get_by_role("link", name="Eingangsweg: Bitte wählen Sie eine der Möglichkeiten aus.").click()
    assert page.evaluate("() => document.activeElement.id") == "f-channel"
    page.get_by_label("Brief").check()
    page.get_by_role("radio", name="Strafverfolgung").check()
    page.get_by_label("Beschreibung").fill(LETTER)
    page.get_by_label("Bürgerin oder Bürger").check()
    page.get_by_role("textbox", name="Name (freiwillig)").fill("Erika Beispiel")
    page.get_by_role("button", name="Beschwerde speichern").click()
    expect(page.get_by_role("heading", name="Beschwerde erfasst")).to_be_visible()
    reference = page.inner_text("#reference")
    code = page.inner_text("#access-code")
    assert reference.startswith("BS-")
    assert code not in page.url
    assert_accessible(page, "complaint-entry-03-receipt")
    page.get_by_role("link", name=f"Beschwerde {reference} öffnen").click()
    expect(page.get_by_text(LETTER)).to_be_visible()
    expect(page.get_by_text("Eingegangen (Brief)")).to_be_visible()
    sign_out(page)


def _enter_letter(page: Any, server: LiveServer) -> str:
    """The handler enters an anonymous letter and opens it; returns its reference."""
    page.goto(server.url("/beschwerdestelle/erfassen"))
    page.get_by_label("Brief").check()
    page.get_by_role("radio", name="Strafverfolgung").check()
    page.get_by_label("Beschreibung").fill(LETTER)
    page.get_by_label("anonym, ohne Namen").check()
    page.get_by_role("button", name="Beschwerde speichern").click()
    expect(page.get_by_role("heading", name="Beschwerde erfasst")).to_be_visible()
    reference: str = page.inner_text("#reference")
    page.get_by_role("link", name=f"Beschwerde {reference} öffnen").click()
    expect(page.get_by_role("heading", name=f"Beschwerde {reference}", level=1)).to_be_visible()
    return reference


def test_the_office_forwards_and_withdraws_only_after_the_second_step(page: Any, server: LiveServer) -> None:
    states = AtBothWidths(page, "complaint-steps")
    sign_in(page, server, "complaints.handler")
    reference = _enter_letter(page, server)
    # A new complaint: the first assessment first, the other steps folded away until asked for.
    first = page.locator("section.panel").first
    expect(first).to_have_attribute("id", "f-action-triage")
    forward = page.locator("#f-action-forward")
    expect(forward).to_be_hidden()
    states.check("01-case")
    more = page.get_by_text(re.compile(r"^Weitere Schritte: "))
    more.click()
    expect(forward).to_be_visible()
    states.check("02-case-unfolded")

    forward.get_by_role("button", name="Abgeben").click()  # no reason chosen
    expect(page.get_by_role("alert")).to_be_visible()
    assert page.title().startswith("Fehler:")
    states.check("03-case-errors")
    page.get_by_role("link", name="Grund der Abgabe: Bitte wählen Sie eine der Möglichkeiten aus.").click()
    assert page.evaluate("() => document.activeElement.id") == "f-forward_reason"
    page.get_by_label("Grund der Abgabe").select_option(label="Abgabe an die Staatsanwaltschaft")
    forward.get_by_role("button", name="Abgeben").click()
    expect(page.get_by_role("heading", name=f"Beschwerde {reference} abgeben?")).to_be_focused()
    expect(page.get_by_text("wird abgegeben (Abgabe an die Staatsanwaltschaft)")).to_be_visible()
    states.check("04-confirm-forward")
    page.get_by_role("button", name="Zurück zum Formular, Angaben ändern").click()
    expect(page.get_by_label("Grund der Abgabe")).to_have_value("to_prosecutor")  # kept, nothing done
    expect(page.locator(".badge-received")).to_be_visible()
    forward.get_by_role("button", name="Abgeben").click()
    page.get_by_role("button", name="Ja, Beschwerde abgeben").click()
    expect(page.get_by_text("Die Beschwerde wurde abgegeben.")).to_be_visible()
    expect(page.locator(".badge-forwarded")).to_be_visible()
    expect(page.locator("#f-action-forward")).to_have_count(0)

    reference = _enter_letter(page, server)
    page.get_by_text(re.compile(r"^Weitere Schritte: ")).click()
    withdraw = page.locator("#f-action-withdraw")
    withdraw.get_by_role("button", name="Rücknahme erfassen").click()
    expect(
        page.get_by_role("heading", name=f"Rücknahme der Beschwerde {reference} erfassen?")
    ).to_be_focused()
    states.check("05-confirm-withdraw")
    page.get_by_role("link", name="Abbrechen, nichts ändern").click()
    expect(page.locator(".badge-received")).to_be_visible()  # nothing changed
    page.get_by_text(re.compile(r"^Weitere Schritte: ")).click()
    withdraw.get_by_role("button", name="Rücknahme erfassen").click()
    page.get_by_role("button", name="Ja, Rücknahme erfassen").click()
    expect(page.get_by_text("Die Rücknahme ist erfasst.")).to_be_visible()
    expect(page.locator(".badge-withdrawn")).to_be_visible()
    states.check("06-case-withdrawn")
