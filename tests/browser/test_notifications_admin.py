"""The administrators' page of the notification e-mails in a real browser: reached from the
administration's navigation, readable at desktop and phone width, "send again" asked on a second page.

The live server sends no e-mail (no background jobs), so the failed e-mail is written into its
database directly, with a kind of its own that no other browser test sees.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from referral_service.notifications.models import EmailState
from tests.browser.pages import sign_in
from tests.browser.support import AtBothWidths, LiveServer
from tests.notifications.outbox_rows import insert_email

pytestmark = pytest.mark.browser


def _failed_email(server: LiveServer, kind: str) -> None:
    async def insert() -> None:
        engine = create_async_engine(server.env["REFERRAL_DATABASE_URL"], poolclass=NullPool)
        try:
            await insert_email(engine, EmailState.UNCERTAIN, kind=kind, attempts=1, error="interrupted")
        finally:
            await engine.dispose()

    # Playwright's sync API keeps an event loop running in this thread: the insert runs in another.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, insert()).result()


def test_administrator_sees_a_failed_email_and_sends_it_again(page: Any, server: LiveServer) -> None:
    kind = f"browser.{uuid.uuid4().hex[:8]}"
    _failed_email(server, kind)
    states = AtBothWidths(page, "admin-emails")
    sign_in(page, server, "admin.sachsen")
    page.get_by_role("navigation", name="Verwaltungsbereiche").get_by_role(
        "link", name="E-Mail-Benachrichtigungen"
    ).click()
    page.get_by_role("heading", name="Fehlgeschlagene und unklare E-Mails").wait_for()
    entry = page.get_by_role("listitem").filter(has_text=kind)
    assert "Beschwerdeführende Person" in entry.inner_text()
    states.check("list")
    states.check("list")  # the other width
    entry.get_by_role("button", name="Erneut senden").click()
    page.get_by_role("heading", name="E-Mail erneut senden?").wait_for()
    states.check("confirm")
    page.get_by_role("button", name="Ja, erneut senden").click()
    page.get_by_text("Die E-Mail wird mit dem nächsten Versandlauf erneut gesendet.").wait_for()
    assert page.get_by_role("listitem").filter(has_text=kind).count() == 0
