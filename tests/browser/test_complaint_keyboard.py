"""The public complaint form, completed and submitted with the keyboard alone (WCAG 2.1.1)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.support import LiveServer, assert_accessible, keep_screenshot

pytestmark = pytest.mark.browser


def focused(page: Any) -> dict[str, str]:
    return page.evaluate(
        """() => {
            const e = document.activeElement;
            return {id: e.id || "", name: e.name || "", tag: e.tagName, type: e.type || "",
                    text: (e.textContent || "").trim()};
        }"""
    )


def tab_to(page: Any, *, element_id: str | None = None, text: str | None = None, limit: int = 80) -> None:
    """Press Tab until the element is focused; fails if the tab order never reaches it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if (element_id is not None and now["id"] == element_id) or (text is not None and now["text"] == text):
            return
    raise AssertionError(f"Tab never reached {element_id or text}")


def test_the_complaint_form_can_be_completed_with_the_keyboard_alone(page: Any, server: LiveServer) -> None:
    page.goto(server.url("/beschwerde"))
    # The first stop is the skip link; it jumps over the navigation to the content.
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Zum Inhalt springen"
    page.keyboard.press("Enter")

    # Type of concern: the group's checked radio takes the focus; "Beschwerde" is preselected.
    tab_to(page, element_id="f-complaint_type")
    page.keyboard.press("Space")
    assert page.is_checked("#f-complaint_type")

    # Area: Tab enters the radio group, arrow keys choose within it.
    tab_to(page, element_id="f-category")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # conduct on duty (the fourth option)
    assert page.is_checked("#f-category-4")

    page.keyboard.press("Tab")
    assert focused(page)["id"] == "f-description"
    page.keyboard.type("Bei einer Verkehrskontrolle wurde ich angeschrien. Ich möchte mich beschweren.")

    # Shift+Tab goes back (and forward again) without losing what was typed.
    page.keyboard.press("Shift+Tab")
    assert focused(page)["name"] == "category"
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "f-description"

    page.keyboard.press("Tab")
    assert focused(page)["id"] == "f-incident_date"  # optional; its day, month and year are Tab stops
    tab_to(page, element_id="f-place")
    page.keyboard.type("Bautzner Straße, Dresden")

    # Anonymous: the fourth option of "you are complaining as".
    tab_to(page, element_id="f-complainant_kind")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    assert page.is_checked("#f-complainant_kind-4")

    tab_to(page, text="Beschwerde absenden")
    keep_screenshot(page, "keyboard-01-filled")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Ihre Beschwerde ist eingegangen")).to_be_visible()
    reference = page.inner_text("#reference")
    code = page.inner_text("#access-code")
    assert reference.startswith("BS-")
    assert len(code.replace("-", "")) == 24
    assert code not in page.url
    expect(page.locator("#reference")).to_be_visible()
    assert_accessible(page, "keyboard-02-receipt")
