"""The notification list and settings in a real browser: the header's count, marking read, the settings
table stacked on a phone; axe and the reflow check at desktop and phone width.

The notifications are written into the server's database beside it (a user no other browser test signs
in as), through `notify` as a domain would, with the tests' own kind.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.db import create_database_engine
from referral_service.identity import repository
from tests.browser.pages import sign_in, sign_out
from tests.browser.support import AtBothWidths, LiveServer
from tests.notifications.support import write

pytestmark = pytest.mark.browser

USER = "branchlead.leipzig"


async def _notify(database_url: str) -> None:
    engine = create_database_engine(database_url)
    try:
        async with AsyncSession(engine) as session:
            user = await repository.get_user_by_username(session, USER)
            assert user is not None
            user_id = user.id
        for reference, deadline in (("VM-2026-000801", dt.date(2026, 3, 9)), ("VM-2026-000802", None)):
            await write(engine, [user_id], reference=reference, deadline=deadline)
    finally:
        await engine.dispose()


def test_the_notification_pages_at_both_widths(page: Any, server: LiveServer) -> None:
    # Playwright's loop runs in this thread; the database work gets a thread (and loop) of its own.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _notify(server.env["REFERRAL_DATABASE_URL"])).result()
    sign_in(page, server, USER, to_area=False)
    states = AtBothWidths(page, "notifications")
    with page.expect_navigation():
        page.get_by_role("link", name="Benachrichtigungen (2 ungelesen)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Benachrichtigungen")
    expect(page.get_by_text("Ungelesen", exact=True)).to_have_count(2)
    states.check("list")

    page.get_by_role("button", name="Als gelesen markieren: Benachrichtigung, VM-2026-000802").click()
    expect(page.get_by_role("status")).to_contain_text("als gelesen markiert")
    expect(page.get_by_role("link", name="Benachrichtigungen (1 ungelesen)")).to_be_visible()

    page.get_by_role("link", name="Einstellungen für Benachrichtigungen").click()
    page.wait_for_url("**/benachrichtigungen/einstellungen")
    states.check("settings")
    page.get_by_label("E-Mail-Adresse").fill("erika@")
    page.get_by_role("button", name="Adresse speichern").click()
    expect(page.get_by_role("alert")).to_contain_text("E-Mail-Adresse")
    states.check("settings-error")
    sign_out(page)
