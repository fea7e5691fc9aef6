"""The signed-in start page: what waits for the user, the areas, and the counts beside the areas in the
navigation. It must pass axe and fit a phone like every other page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.pages import sign_in, sign_out
from tests.browser.support import AtBothWidths, LiveServer, keep_screenshot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("username", ["volunteer.dresden", "supervisor.dresden"])
def test_start_page_lists_what_waits_at_both_widths(page: Any, server: LiveServer, username: str) -> None:
    sign_in(page, server, username, to_area=False)
    assert page.url == server.url("/")
    expect(page.get_by_role("heading", level=1, name="Startseite")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="Was auf Sie wartet")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="Ihre Arbeitsbereiche")).to_be_visible()
    # Either counts (each a link to its list) or the sentence that nothing waits.
    waiting = page.locator("ul.work-list a")
    if waiting.count() == 0:
        expect(page.get_by_text("Zurzeit wartet nichts auf Sie.")).to_be_visible()
    states = AtBothWidths(page, f"start-{username}")
    states.check("start")
    states.check("start")
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        keep_screenshot(page, f"start-{username}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})
    # A badge's number is announced in words, inside the area's link.
    for badge in page.locator("nav.area-nav .nav-count").all():
        link = badge.locator("xpath=..")
        assert link.locator(".visually-hidden").inner_text().strip().startswith("(")
    sign_out(page)
