"""Helpers for page tests: browsers ask for HTML, forms carry the token the page rendered."""

from __future__ import annotations

import html
import re
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from referral_service.identity.roles import Role
from tests.identity.support import DemoDirectory, FakeClock

Client = AsyncTestClient[Litestar]
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)

_CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def csrf_of(page_html: str) -> str:
    found = _CSRF.search(page_html)
    assert found, "the page has no form token"
    return html.unescape(found.group(1))


def text_of(page_html: str) -> str:
    """The page's visible text, roughly: tags removed, entities decoded, whitespace collapsed."""
    without_tags = re.sub(
        r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page_html, flags=re.S)
    )
    return re.sub(r"\s+", " ", html.unescape(without_tags)).strip()


async def get_page(client: Client, path: str, **kwargs: Any) -> Any:
    return await client.get(path, headers=HTML, follow_redirects=False, **kwargs)


async def post_form(client: Client, path: str, data: dict[str, Any], **kwargs: Any) -> Any:
    return await client.post(path, data=data, headers=HTML, follow_redirects=False, **kwargs)


async def sign_in(
    client: Client, demo_directory: DemoDirectory, who: Role | str, clock: FakeClock, *, next_path: str = ""
) -> Any:
    """Sign in through the sign-in page; returns the answer to the form (a 303 on success)."""
    form_page = await get_page(client, "/anmelden")
    assert form_page.status_code == 200, form_page.text
    account = demo_directory.account(who)
    data = {"_csrf": csrf_of(form_page.text), "username": account.username, "password": account.password}
    if account.totp_secret is not None:
        data["totp_code"] = account.totp_code(clock.now())
    if next_path:
        data["weiter"] = next_path
    response = await post_form(client, "/anmelden", data)
    assert response.status_code == 303, response.text
    return response


def assert_html(response: Any, status: int = 200) -> None:
    assert response.status_code == status, response.text[:2000]
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
