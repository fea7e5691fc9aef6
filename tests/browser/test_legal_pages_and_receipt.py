"""Impressum, privacy notice and accessibility statement, and the complaint receipt, in a real browser:
accessible (axe) at desktop and phone width; the access code's groups never wrap inside; the receipt
prints without navigation and saves as a text file under the real Content-Security-Policy, without the
code reaching the server in any address or log line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.support import PHONE, AtBothWidths, LiveServer, assert_accessible, scrolls_sideways

pytestmark = pytest.mark.browser

# Address: (the footer's link, the page's heading).
LEGAL_PAGES = {
    "/impressum": ("Impressum", "Impressum"),
    "/datenschutz": ("Datenschutz", "Datenschutzerklärung"),
    "/barrierefreiheit": ("Erklärung zur Barrierefreiheit", "Erklärung zur Barrierefreiheit"),
}
# The development server shows the demo operator, marked as such.
DEMO_OPERATOR = "Beispiel-Betreiber Zentrale Beschwerdestelle (Demo)"
DEMO_OFFICE = "Beispiel-Beschwerdestelle der Polizei (Demo)"
# A group split over two lines has more than one box.
_BROKEN_GROUPS = """() => [...document.querySelectorAll('#access-code .code-group')]
    .filter(group => group.getClientRects().length !== 1).map(group => group.textContent)"""
# The lines the code takes, as their text: a dash ends a line, never starts one.
_CODE_LINES = """() => {
    const lines = new Map();
    const walker = document.createTreeWalker(document.getElementById('access-code'), NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.length; i++) {
            const range = document.createRange();
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const top = Math.round(range.getBoundingClientRect().top);
            lines.set(top, (lines.get(top) || '') + node.data[i]);
        }
    }
    return [...lines.entries()].sort((a, b) => a[0] - b[0]).map(entry => entry[1]);
}"""


def _submit_anonymous_complaint(page: Any, server: LiveServer) -> tuple[str, str]:
    page.goto(server.url("/beschwerde"))
    page.get_by_label("Verhalten im Dienst").check()
    page.get_by_label("Beschreibung").fill("Bei der Kontrolle am Postplatz wurde ich grundlos durchsucht.")
    page.get_by_label("anonym, ohne Namen").check()
    page.get_by_role("button", name="Beschwerde absenden").click()
    expect(page.get_by_role("heading", name="Ihre Beschwerde ist eingegangen")).to_be_visible()
    return page.inner_text("#reference"), page.inner_text("#access-code")


def test_the_legal_pages_are_linked_from_the_footer_and_accessible(page: Any, server: LiveServer) -> None:
    states = AtBothWidths(page, "legal")
    for path, (link, heading) in LEGAL_PAGES.items():
        page.goto(server.url("/"))
        page.get_by_role("contentinfo").get_by_role("link", name=link, exact=True).click()
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        assert page.url == server.url(path)
        expect(page.get_by_text(DEMO_OPERATOR).first).to_be_visible()
        states.check(path)


def test_the_receipt_is_accessible_keeps_groups_whole_and_prints_the_essentials(
    page: Any, server: LiveServer
) -> None:
    reference, code = _submit_anonymous_complaint(page, server)
    assert len(code.split("-")) == 6
    expect(page.locator("#status-url")).to_have_text(server.url("/beschwerde/status"))
    expect(page.locator("#office-contact")).to_contain_text(DEMO_OFFICE)
    assert_accessible(page, "receipt-desktop")

    page.set_viewport_size(PHONE)
    assert page.evaluate(_BROKEN_GROUPS) == []
    lines = page.evaluate(_CODE_LINES)
    assert len(lines) > 1  # the code does wrap on a phone: between groups, after a dash
    assert "".join(lines) == code
    assert not [line for line in lines if line.startswith("-")], lines
    assert not scrolls_sideways(page)
    assert page.inner_text("#access-code") == code  # read group by group, dashes between
    assert_accessible(page, "receipt-phone")

    page.emulate_media(media="print")
    for hidden in ("header.site-header", "footer.site-footer", "#receipt-download"):
        assert page.locator(hidden).is_hidden(), hidden
    for shown in ("#reference", "#access-code", "#status-url", "#office-contact"):
        expect(page.locator(shown)).to_be_visible()
    page.emulate_media(media="screen")
    assert reference.startswith("BS-")


def test_the_receipt_saves_as_a_file_under_the_policy_and_the_code_stays_in_the_browser(
    strict_page: Any, server: LiveServer, tmp_path: Path
) -> None:
    page = strict_page
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    reference, code = _submit_anonymous_complaint(page, server)
    with page.expect_download() as download:
        page.get_by_role("link", name="Bestätigung als Textdatei speichern").click()
    assert download.value.suggested_filename == f"beschwerde-{reference}.txt"
    saved = tmp_path / "receipt.txt"
    download.value.save_as(saved)
    content = saved.read_text(encoding="utf-8")
    assert f"Aktenzeichen: {reference}" in content
    assert f"Zugangscode: {code}" in content
    assert f"Stand abrufen unter: {server.url('/beschwerde/status')}" in content
    assert DEMO_OFFICE in content

    assert problems == []  # the policy blocked nothing
    sent = [url for url in requested if not url.startswith("data:")]  # a data: URL never leaves the browser
    assert sent
    assert not [url for url in sent if code in url or code.replace("-", "") in url]
    log = server.log_path.read_text(encoding="utf-8", errors="replace")
    assert code not in log
    assert code.replace("-", "") not in log
