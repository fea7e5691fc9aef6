"""The texts in Leichte Sprache in a real browser: accessible (axe) at desktop and phone width, in the
German and the English interface, and opened from the police's consent step beside the form."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.pages import sign_in
from tests.browser.support import AtBothWidths, LiveServer, assert_accessible

pytestmark = pytest.mark.browser

PAGES = ["/leichte-sprache", "/leichte-sprache/opferhilfe", "/leichte-sprache/beschwerde"]


def test_the_texts_are_accessible_german_and_reached_from_the_overview(page: Any, server: LiveServer) -> None:
    states = AtBothWidths(page, "plain-de")
    for path in PAGES:
        page.goto(server.url(path))
        assert page.get_attribute("html", "lang") == "de"
        expect(page.locator(".plain-language")).to_have_attribute("lang", "de")
        states.check(path)
    page.goto(server.url("/leichte-sprache"))
    page.get_by_role("link", name="Hilfe für Opfer von Straf·taten").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hilfe für Opfer von Straf·taten")
    expect(page.get_by_role("heading", name="Sie können Ihr Ja zurück·nehmen")).to_be_visible()


def test_the_english_interface_says_the_texts_are_german(page: Any, server: LiveServer) -> None:
    states = AtBothWidths(page, "plain-en")
    page.goto(server.url("/beschwerde"))
    page.get_by_role("link", name="English").click()
    assert page.get_attribute("html", "lang") == "en"
    link = page.get_by_role("link", name="Easy-to-read explanation (Leichte Sprache) – in German")
    expect(link).to_have_attribute("hreflang", "de")
    link.click()
    page.wait_for_url("**/leichte-sprache/beschwerde")
    expect(page.get_by_text("They exist in German only; there is no English version.")).to_be_visible()
    expect(page.locator(".plain-language")).to_have_attribute("lang", "de")
    for path in PAGES:
        page.goto(server.url(path))
        assert page.get_attribute("html", "lang") == "en"
        states.check(path)


def test_the_officer_opens_the_referral_text_beside_the_consent_step(page: Any, server: LiveServer) -> None:
    sign_in(page, server, "officer.dresden")
    page.goto(server.url("/polizei/vermittlungen/neu"))
    page.get_by_label("die betroffene Person selbst").check()
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Erklärung für die betroffene Person in Leichter Sprache").click()
    text = opened.value
    text.wait_for_load_state()
    expect(text.get_by_role("heading", level=1)).to_have_text("Hilfe für Opfer von Straf·taten")
    # The form stays as it was, in its own tab.
    assert page.url.endswith("/polizei/vermittlungen/neu")
    expect(page.get_by_label("die betroffene Person selbst")).to_be_checked()
    assert_accessible(page, "plain-consent-step-link")
