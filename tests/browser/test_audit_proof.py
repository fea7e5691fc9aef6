"""The auditor's inclusion proof and the report charts in a real browser, axe on every page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.pages import sign_in, sign_out
from tests.browser.support import LiveServer, assert_accessible

pytestmark = pytest.mark.browser


def test_auditor_proves_an_event_from_the_search(page: Any, server: LiveServer) -> None:
    sign_in(page, server, "auditor.sachsen")
    server.cli("audit", "checkpoint")
    page.get_by_role("link", name="Einschlussnachweis für ein Ereignis").click()
    assert page.url.endswith("/revision/nachweis")
    assert_accessible(page, "proof-01-form")

    position = page.get_by_label("Position im Protokoll")
    position.fill("siebzehn")
    page.get_by_role("button", name="Nachweis anzeigen").click()
    # The error summary takes the focus and links to the field.
    assert page.evaluate("() => document.activeElement.classList.contains('error-summary')")
    assert_accessible(page, "proof-02-invalid")
    page.get_by_role("link", name=re.compile("ganze Zahl")).click()
    assert page.evaluate("() => document.activeElement.id") == "f-position"

    page.get_by_label("Position im Protokoll").fill("0")
    page.get_by_role("button", name="Nachweis anzeigen").click()
    expect(page.get_by_text("Der Nachweis ist gültig.")).to_be_visible()
    assert page.get_by_role("table", name="Prüfschritte").get_by_text("nicht bestanden").count() == 0
    expect(page.get_by_role("table", name=re.compile("Nachweispfad"))).to_be_visible()
    assert_accessible(page, "proof-03-valid")

    # From the event search, a position links to its proof.
    page.goto(server.url("/revision/ereignisse"))
    page.get_by_label(re.compile(r"^Aktion")).select_option("identity:session:login")
    page.get_by_role("button", name="Suchen").click()
    page.get_by_role("link", name=re.compile(r"^Einschlussnachweis für Position \d+$")).first.click()
    assert "/revision/nachweis?position=" in page.url
    expect(page.get_by_role("heading", name=re.compile(r"Ergebnis für Position \d+"))).to_be_visible()
    sign_out(page)


def test_report_charts_are_images_named_after_their_tables(page: Any, server: LiveServer) -> None:
    sign_in(page, server, "auditor.sachsen")
    page.goto(server.url("/berichte/kooperation"))
    charts = page.get_by_role("img", name=re.compile("^Diagramm: "))
    assert charts.count() >= 3
    first = charts.first
    expect(first).to_be_visible()
    described = page.evaluate(
        "() => { const svg = document.querySelector('.chart svg');"
        " return document.getElementById(svg.getAttribute('aria-describedby')).textContent; }"
    )
    assert "Die genauen Werte stehen in der Tabelle" in described
    assert_accessible(page, "report-charts")


def test_charts_and_the_proof_page_need_nothing_the_policy_refuses(
    strict_page: Any, server: LiveServer
) -> None:
    page = strict_page
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    sign_in(page, server, "auditor.sachsen")
    for path in ("/berichte/kooperation", "/berichte/beschwerden", "/revision/nachweis?position=0"):
        page.goto(server.url(path))
    assert page.locator(".chart svg").count() == 0  # the proof page has no chart
    page.goto(server.url("/berichte/kooperation"))
    assert page.locator(".chart svg").count() >= 3
    # Presentation attributes, not inline styles: the bars are drawn in colour under the real policy.
    assert (
        page.evaluate("() => getComputedStyle(document.querySelector('.chart-bar')).fill")
        == "rgb(0, 75, 118)"
    )
    csp = [
        text for text in problems if "Content Security Policy" in text or "Content-Security-Policy" in text
    ]
    assert not csp, csp
