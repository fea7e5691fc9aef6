"""The public pages in a real browser: accessible (axe), in German and English."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.support import LiveServer, assert_accessible

pytestmark = pytest.mark.browser

PAGES = ["/", "/anmelden", "/barrierefreiheit", "/leichte-sprache"]


def test_public_pages_are_accessible_in_german_and_english(page: Any, server: LiveServer) -> None:
    for path in PAGES:
        page.goto(server.url(path))
        assert page.get_attribute("html", "lang") == "de"
        assert_accessible(page, f"public-de{path}")
    page.get_by_role("link", name="English").click()
    assert page.get_attribute("html", "lang") == "en"
    for path in PAGES:
        page.goto(server.url(path))
        assert page.get_attribute("html", "lang") == "en"
        assert_accessible(page, f"public-en{path}")


def test_the_skip_link_is_the_first_stop_and_moves_to_the_content(page: Any, server: LiveServer) -> None:
    page.goto(server.url("/barrierefreiheit"))
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent.trim()")
    assert focused == "Zum Inhalt springen"
    assert page.evaluate("() => getComputedStyle(document.activeElement).top") != "-64px"  # visible on focus
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


def test_sign_in_errors_are_announced_and_focused(page: Any, server: LiveServer) -> None:
    page.goto(server.url("/anmelden"))
    with page.expect_navigation():
        page.get_by_role("button", name="Anmelden").click()
    assert page.evaluate("() => document.activeElement.classList.contains('error-summary')")
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "login-errors")
