"""The auditor's readable event search in a real browser, at desktop and phone width, axe in each state:
user name, action in words, next page and back, and the CSV download."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.pages import sign_in, sign_out
from tests.browser.support import AtBothWidths, LiveServer

pytestmark = pytest.mark.browser


def test_auditor_searches_by_user_name_pages_and_exports(page: Any, server: LiveServer) -> None:
    states = AtBothWidths(page, "audit-search")
    sign_in(page, server, "auditor.sachsen")
    page.goto(server.url("/revision/ereignisse"))
    states.check("form")

    # An unknown user name is said plainly, at the field.
    page.get_by_label(re.compile("^Anmeldename der handelnden Person")).fill("niemand.hier")
    page.get_by_role("button", name="Suchen").click()
    expect(page.get_by_role("link", name=re.compile("kein Konto mit diesem Anmeldenamen"))).to_be_visible()
    states.check("unknown-user")

    # The auditor's own sign-ins and searches, in words; the user name never enters the URL.
    page.get_by_label(re.compile("^Anmeldename der handelnden Person")).fill("AUDITOR.SACHSEN")
    page.get_by_label(re.compile(r"^Aktion")).select_option(label="Angemeldet")
    page.get_by_role("button", name="Suchen").click()
    table = page.get_by_role("table", name=re.compile("neueste zuerst"))
    expect(table).to_be_visible()
    expect(table.get_by_text("Angemeldet").first).to_be_visible()
    expect(table.get_by_text("auditor.sachsen").first).to_be_visible()
    assert "sachsen" not in page.url.lower()
    states.check("results")

    # Every search is recorded: the auditor's searches fill more than one page of 50.
    page.get_by_label(re.compile(r"^Aktion")).select_option(label="Protokollereignisse gesucht")
    # The searches that fill the page are sent without drawing each answer (the browser's own search
    # is the last one).
    csrf = page.locator("input[name=_csrf]").first.input_value()
    for _ in range(51):
        answer = page.request.post(
            server.url("/revision/ereignisse"), form={"_csrf": csrf, "action": "audit:event:read"}
        )
        assert answer.status == 200
    page.get_by_role("button", name="Suchen").click()
    page.get_by_role("button", name="Nächste Seite").click()
    expect(page.get_by_role("button", name="Zurück zur ersten Seite")).to_be_visible()
    states.check("second-page")
    page.get_by_role("button", name="Zurück zur ersten Seite").click()
    expect(page.get_by_role("button", name="Nächste Seite")).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("button", name="Alle Treffer als CSV herunterladen").click()
    assert download.value.suggested_filename == "audit-events.csv"
    content = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert content.splitlines()[0].startswith("Position,Ereignis-Nr.,Zeit")
    assert "Protokollereignisse gesucht" in content
    sign_out(page)
