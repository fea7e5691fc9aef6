"""Auditor and report pages in a real browser: verification by HTMX, event search, reports.
(The administrator's pages: test_account_admin.py.)"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.pages import sign_in, sign_out
from tests.browser.support import LiveServer, assert_accessible

pytestmark = pytest.mark.browser


def test_auditor_verifies_the_log_and_searches_events(page: Any, server: LiveServer) -> None:
    sign_in(page, server, "auditor.sachsen")
    assert page.url.endswith("/revision")
    assert_accessible(page, "audit-01-overview")
    page.get_by_role("button", name="Protokoll jetzt prüfen").click()
    result = page.get_by_text("Das Protokoll ist unverändert.")
    result.wait_for()
    assert page.url.endswith("/revision")  # swapped in place by HTMX, no page load
    # The result takes the focus, so a screen reader reads it out.
    page.wait_for_function("() => document.activeElement.closest('#verification') !== null", timeout=5000)
    assert_accessible(page, "audit-02-verified")
    page.get_by_role("link", name="Ereignisse suchen").click()
    assert_accessible(page, "audit-03-search")
    page.get_by_label(re.compile(r"^Aktion")).select_option("identity:session:login")
    page.get_by_role("button", name="Suchen").click()
    assert "/revision/ereignisse" in page.url
    assert "identity:session:login" not in page.url  # searches are posted, never put in the URL
    assert page.locator("tbody tr").count() >= 1
    assert_accessible(page, "audit-04-results")

    menu = page.get_by_role("navigation", name="Arbeitsbereiche")
    menu.get_by_role("link", name="Bericht Kooperation").click()
    page.get_by_role("button", name="Bericht anzeigen").click()
    assert page.locator("table caption").count() >= 1
    assert_accessible(page, "report-01-cooperation")
    menu.get_by_role("link", name="Jahresbericht Beschwerden").click()
    assert page.locator("table caption").count() >= 1
    assert_accessible(page, "report-02-complaints-annual")
    sign_out(page)
