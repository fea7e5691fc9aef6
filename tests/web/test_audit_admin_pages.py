"""Which of the auditor's and administrator's pages each may open.

The auditor's own pages are tested in test_audit_pages.py, the administrator's in test_admin_pages.py."""

from __future__ import annotations

import re

from referral_service.identity.roles import Role
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.support import Client, assert_html, get_page, sign_in


async def test_auditors_and_administrators_see_only_their_own_pages(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.AUDITOR, identity_clock)
    for path in ("/polizei", "/weisser-ring", "/beschwerdestelle", "/stellungnahmen"):
        assert_html(await get_page(https_client, path), 403)
    # Auditors may read the staff directory (as in the API), but not change it.
    directory = await get_page(https_client, "/verwaltung")
    assert_html(directory)
    assert "Konto anlegen" not in directory.text
    assert "deaktivieren" not in directory.text
    https_client.cookies.clear()
    identity_clock.advance(seconds=60)
    await sign_in(https_client, demo_directory, Role.ADMIN, identity_clock)
    for path in ("/revision", "/polizei", "/beschwerdestelle"):
        assert_html(await get_page(https_client, path), 403)
    assert re.search(r"Keine Berechtigung", (await get_page(https_client, "/revision")).text)
