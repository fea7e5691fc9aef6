"""Pages the scenario tests do not pass through: the WEISSER RING state office queue and the page a
browser gets for an address that does not exist. Both must pass axe like every other page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.pages import sign_in, sign_out
from tests.browser.support import LiveServer, assert_accessible

pytestmark = pytest.mark.browser


def test_state_office_queue_is_accessible(page: Any, server: LiveServer) -> None:
    sign_in(page, server, "stateoffice.sachsen")
    page.goto(server.url("/weisser-ring/landesbuero"))
    assert page.locator("h1").count() == 1
    assert_accessible(page, "wr-state-office-queue")
    sign_out(page)


def test_unknown_address_shows_the_error_page_in_the_browser(page: Any, server: LiveServer) -> None:
    response = page.goto(server.url("/gibt-es-nicht"))
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="Seite nicht gefunden")).to_be_visible()
    expect(page.get_by_role("link", name="Zur Startseite")).to_be_visible()
    assert_accessible(page, "not-found")
