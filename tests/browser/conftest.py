"""Fixtures of the browser tests (see support.py). They skip without Chromium, Playwright or axe-core,
unless REFERRAL_TEST_REQUIRE_BROWSER=1 (CI), which makes them fail instead."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    live_server,
    missing_prerequisite,
    skip_or_fail,
)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    reason = missing_prerequisite()
    if reason is not None:
        skip_or_fail(reason)
    with live_server(tmp_path_factory.mktemp("browser-server")) as running:
        yield running


@pytest.fixture
def playwright_driver(server: LiveServer) -> Iterator[Any]:
    # Per test, not per session: Playwright's sync API keeps an asyncio loop running in this thread
    # while it is started, which would break every async test that runs after it.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


def _context(driver: Any, user_data_dir: Path, *, bypass_csp: bool) -> Any:
    context = driver.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 900},
        locale="de-DE",
        timezone_id="Europe/Berlin",
        # axe-core is injected as an inline script tag, which the pages' CSP would (rightly) block;
        # test_csp.py checks the pages under the real policy.
        bypass_csp=bypass_csp,
    )
    context.set_default_timeout(20_000)
    return context


@pytest.fixture
def page(playwright_driver: Any, tmp_path: Path) -> Iterator[Any]:
    """A page in a fresh browser profile (no cookies), for axe checks."""
    context = _context(playwright_driver, tmp_path / "profile", bypass_csp=True)
    try:
        yield context.pages[0] if context.pages else context.new_page()
    finally:
        context.close()


@pytest.fixture
def strict_page(playwright_driver: Any, tmp_path: Path) -> Iterator[Any]:
    """A page that enforces the Content-Security-Policy as a user's browser does."""
    context = _context(playwright_driver, tmp_path / "strict-profile", bypass_csp=False)
    try:
        yield context.pages[0] if context.pages else context.new_page()
    finally:
        context.close()
