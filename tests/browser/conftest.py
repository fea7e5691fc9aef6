"""Fixtures of the browser tests (see support.py). They skip without Chromium, Playwright or axe-core,
unless REFERRAL_TEST_REQUIRE_BROWSER=1 (CI), which makes them fail instead."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    live_server,
    skip_unless_ready,
)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    skip_unless_ready()
    with live_server(tmp_path_factory.mktemp("browser-server")) as running:
        yield running


@pytest.fixture(scope="module")
def playwright_driver(server: LiveServer) -> Iterator[Any]:
    # Per module, not per session: Playwright's sync API keeps an asyncio loop running in this thread
    # while it is started, which would break every async test that runs after it (browser test
    # modules hold no async tests; the driver stops before the next module's tests run).
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver: Any) -> Iterator[Any]:
    """One Chromium per module; each test gets a fresh context (no cookies, no storage) in it."""
    browser = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield browser
    finally:
        browser.close()


def _context(browser: Any, *, bypass_csp: bool) -> Any:
    context = browser.new_context(
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
def page(browser: Any) -> Iterator[Any]:
    """A page in a fresh browser context (no cookies), for axe checks."""
    context = _context(browser, bypass_csp=True)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def strict_page(browser: Any) -> Iterator[Any]:
    """A page that enforces the Content-Security-Policy as a user's browser does."""
    context = _context(browser, bypass_csp=False)
    try:
        yield context.new_page()
    finally:
        context.close()
