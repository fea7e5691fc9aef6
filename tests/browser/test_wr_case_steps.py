"""The WEISSER RING's case page in a real browser: the next step first, the others folded away and
unfolded on request or with their errors, and closing only after a second page; every state fits a
phone's width and passes axe (`AtBothWidths`)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.pages import sign_in, sign_out
from tests.browser.support import AtBothWidths, LiveServer

pytestmark = pytest.mark.browser


def _refer(page: Any, server: LiveServer) -> str:
    """An officer refers a victim in Dresden through the two forms; the referral's id."""
    sign_in(page, server, "officer.dresden")
    page.goto(server.url("/polizei/vermittlungen/neu"))
    page.get_by_label("die betroffene Person selbst").check()
    page.get_by_label("schriftlich").check()
    page.get_by_label("Die Einwilligung umfasst die Übermittlung").check()
    page.get_by_role("button", name="Weiter zu den Angaben").click()
    page.get_by_label("Name").fill("Kim Beispiel")
    page.get_by_label("Postleitzahl").fill("01099")
    page.get_by_label("Telefon").fill("+49 351 5550123")
    page.get_by_label("Deliktsbereich").select_option("threat")
    page.get_by_label("Datum der Tat").fill((dt.date.today() - dt.timedelta(days=2)).strftime("%d.%m.%Y"))
    page.get_by_label("Sachverhalt").fill("Bedrohung im Treppenhaus.")
    page.get_by_label("menschlicher Beistand und persönliche Betreuung").check()
    page.get_by_role("button", name="Vermittlung übermitteln").click()
    page.wait_for_url("**/polizei?meldung=vermittlung_aussenstelle")
    link = page.locator('tbody a[href^="/polizei/vermittlungen/"]').first
    found = re.search(r"/polizei/vermittlungen/([0-9a-f-]{36})", link.get_attribute("href") or "")
    assert found
    sign_out(page)
    return found.group(1)


def test_the_case_page_leads_through_its_steps(page: Any, server: LiveServer) -> None:
    referral_id = _refer(page, server)
    states = AtBothWidths(page, "wr-case")
    sign_in(page, server, "volunteer.dresden")
    page.goto(server.url(f"/weisser-ring/faelle/{referral_id}"))
    more = page.locator("details.more-steps")

    # New: taking the case on comes first; declining waits folded away, and opens on request.
    expect(page.get_by_role("button", name="Fall annehmen")).to_be_visible()
    expect(page.get_by_role("button", name="Ablehnen")).to_be_hidden()
    states.check("01-new")
    more.locator("summary").click()
    expect(page.get_by_role("button", name="Ablehnen")).to_be_visible()
    states.check("02-new-unfolded")
    # Declining without a reason: the form comes back unfolded with its message, linked from the summary.
    page.get_by_role("button", name="Ablehnen").click()
    expect(page).to_have_title(re.compile("^Fehler:"))
    expect(more).to_have_attribute("open", "")
    page.get_by_role("link", name=re.compile("^Grund der Ablehnung: Bitte wählen Sie")).click()
    assert page.evaluate("() => document.activeElement.id") == "f-decline_reason"
    states.check("03-decline-errors")

    page.get_by_role("button", name="Fall annehmen").click()
    expect(page.get_by_text("Sie haben den Fall angenommen.")).to_be_visible()
    # Accepted: the first contact comes first.
    expect(page.get_by_role("button", name="Erstkontakt erfassen")).to_be_visible()
    expect(page.get_by_role("button", name="Kontaktversuch erfassen")).to_be_hidden()
    states.check("04-accepted")
    page.get_by_role("button", name="Erstkontakt erfassen").click()
    page.get_by_role("link", name=re.compile("^Weg des Erstkontakts: Bitte wählen Sie")).wait_for()
    states.check("05-contact-errors")
    page.locator("#f-action-first_contact").get_by_label("Telefon").check()
    page.get_by_role("button", name="Erstkontakt erfassen").click()
    expect(page.get_by_text("Der Erstkontakt ist erfasst.")).to_be_visible()

    # In contact: closing comes first, and asks on a page that says what follows.
    states.check("06-in-contact")
    page.locator("#f-action-close").get_by_label(
        "Unterstützung von der betroffenen Person nicht gewünscht"
    ).check()
    page.get_by_role("button", name="Fall abschließen").click()
    heading = page.get_by_role(
        "heading", name="Fall abschließen, weil die betroffene Person keine Unterstützung wünscht?"
    )
    heading.wait_for()
    page.wait_for_function("() => document.activeElement.id === 'confirm-title'")
    states.check("07-close-confirm")
    page.get_by_role("link", name="Abbrechen, nichts ändern").click()
    expect(page.get_by_role("button", name="Fall abschließen")).to_be_visible()  # still open
    page.locator("#f-action-close").get_by_label(
        "Unterstützung von der betroffenen Person nicht gewünscht"
    ).check()
    page.get_by_role("button", name="Fall abschließen").click()
    page.get_by_role("button", name="Ja, Fall abschließen").click()
    expect(page.get_by_text("Der Fall ist abgeschlossen.")).to_be_visible()
    expect(page.get_by_role("heading", name="Nächster Schritt")).to_have_count(0)
    states.check("08-closed")
    sign_out(page)
