"""The pages under their real Content-Security-Policy: no violations, and the scripts still work."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.pages import sign_in
from tests.browser.support import LiveServer

pytestmark = pytest.mark.browser


def test_pages_run_without_policy_violations(strict_page: Any, server: LiveServer) -> None:
    page = strict_page
    problems: list[str] = []
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    for path in ("/", "/anmelden", "/barrierefreiheit", "/leichte-sprache", "/leichte-sprache/opferhilfe"):
        page.goto(server.url(path))
        assert page.evaluate("() => typeof window.htmx") == "object", path
    # app.js runs: a failed sign-in moves the focus to the error summary.
    page.goto(server.url("/anmelden"))
    with page.expect_navigation():
        page.get_by_role("button", name="Anmelden").click()
    assert page.evaluate("() => document.activeElement.classList.contains('error-summary')")
    sign_in(page, server, "volunteer.dresden")
    # HTMX swaps the inbox in place under the policy.
    page.get_by_role("link", name="Liste aktualisieren").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#inbox").count() == 1
    csp = [
        text for text in problems if "Content Security Policy" in text or "Content-Security-Policy" in text
    ]
    assert not csp, csp
    # The failed sign-in above answers 422 on purpose; nothing else may fail.
    assert [text for text in problems if "status of 422" not in text] == []
