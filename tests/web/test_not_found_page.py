"""An unknown address: browsers get the site's error page, API clients the problem details."""

from __future__ import annotations

import pytest

from referral_service.identity.roles import Role
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.support import HTML, Client, assert_html, get_page, sign_in, text_of

PROBLEM = "application/problem+json"


async def test_a_browser_gets_the_error_page_with_a_way_back(https_client: Client) -> None:
    response = await get_page(https_client, "/gibt-es-nicht/seite")
    assert_html(response, 404)
    text = text_of(response.text)
    assert "Seite nicht gefunden" in text
    assert '<a href="/">Zur Startseite</a>' in response.text
    assert "route.not_found" not in response.text


async def test_the_error_page_is_in_the_chosen_language(https_client: Client) -> None:
    https_client.cookies.set("rs_lang", "en")
    response = await get_page(https_client, "/no/such/page")
    assert_html(response, 404)
    assert '<html lang="en">' in response.text
    assert "Page not found" in response.text
    assert "Seite nicht gefunden" not in response.text


async def test_a_signed_in_browser_and_htmx_get_the_page_too(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    assert_html(await get_page(https_client, "/polizei/gibt-es-nicht"), 404)
    fragment = await https_client.get("/polizei/gibt-es-nicht", headers={"HX-Request": "true"})
    assert_html(fragment, 404)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/v1/gibt-es-nicht", HTML),  # the API answers in JSON, whoever asks
        ("/gibt-es-nicht", {"Accept": "application/json"}),
        ("/gibt-es-nicht", {}),
    ],
)
async def test_api_clients_keep_problem_details(
    https_client: Client, path: str, headers: dict[str, str]
) -> None:
    response = await https_client.get(path, headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == "route.not_found"
    assert body["instance"] == path
    # No route means no route middleware: the security headers are still there.
    assert response.headers["x-content-type-options"] == "nosniff"
