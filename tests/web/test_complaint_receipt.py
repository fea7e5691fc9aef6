"""The receipt after a complaint is filed (the citizen's, and the office's for an entered complaint): the
status page's full address, the office's contact, the access code in unbreakable groups, print, and
a text file to keep that is built into the page, so the code is never in an address sent to the server."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import unquote

import pytest

from complaints.config import ComplaintsConfig, OfficeContact
from referral_service.identity.roles import Role
from tests.conftest import Kept
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.complaint_support import CODE, REFERENCE, submit
from tests.web.support import Client, assert_html, csrf_of, get_page, post_form, sign_in, text_of
from tests.web.test_complaint_entry_pages import ENTRY, letter

OFFICE = OfficeContact(
    name="Beschwerdestelle der Polizei Prüfland",
    address=("Postfach 4 56", "99999 Prüfstadt"),
    email="beschwerde@polizei.pruefland.example",
    phone="0999 654321-0",
)
STATUS_URL = "https://testserver.local/beschwerde/status"
DATA_PREFIX = "data:text/plain;charset=utf-8,"
_CODE_CELL = re.compile(r'<dd class="access-data access-code" id="access-code">(.*?)</dd>')
_GROUP = re.compile(r'<span class="code-group">([0-9A-Z]{4})</span>')
_DOWNLOAD = re.compile(r'<a [^>]*id="receipt-download" href="([^"]+)" download="([^"]+)"')
_ADDRESSES = re.compile(r'\b(?:href|src|action)="([^"]*)"')


@pytest.fixture
def complaints_config(complaints_clock: FakeClock, kept: Kept) -> ComplaintsConfig:
    from tests.complaints.support import complaints_test_config

    return kept.get(
        "complaints_config_office", lambda: complaints_test_config(complaints_clock, office=OFFICE)
    )


def shown_code(page_html: str) -> list[str]:
    """The code's groups as the receipt shows them; each group a span of its own, dashes between."""
    cell = _CODE_CELL.search(page_html)
    assert cell, "the receipt shows no access code"
    groups = _GROUP.findall(cell.group(1))
    assert cell.group(1) == "-<wbr>".join(f'<span class="code-group">{group}</span>' for group in groups)
    return groups


def downloaded(page_html: str) -> tuple[str, str]:
    """(file name, text) of the receipt's download link."""
    link = _DOWNLOAD.search(page_html)
    assert link, "the receipt has no download link"
    href = html.unescape(link.group(1))
    assert href.startswith(DATA_PREFIX)
    return html.unescape(link.group(2)), unquote(href[len(DATA_PREFIX) :])


def assert_keepable_receipt(response: Any) -> tuple[str, str]:
    """What both receipts show; returns (reference, code)."""
    text = text_of(response.text)
    groups = shown_code(response.text)
    assert len(groups) == 6
    code = "-".join(groups)
    reference_found = REFERENCE.search(text)
    assert reference_found
    reference = reference_found.group(0)

    assert f"Stand abrufen unter {STATUS_URL}" in text
    assert "Eingegangen am 23.11.2026, 09:00 Uhr" in text
    assert (
        "Kontakt zur Beschwerdestelle Beschwerdestelle der Polizei Prüfland Postfach 4 56 99999 Prüfstadt "
        "E-Mail: beschwerde@polizei.pruefland.example Telefon: 0999 654321-0"
    ) in text
    assert 'href="mailto:beschwerde@polizei.pruefland.example"' in response.text

    name, content = downloaded(response.text)
    assert name == f"beschwerde-{reference}.txt"
    for expected in (
        f"Aktenzeichen: {reference}",
        f"Zugangscode: {code}",
        "Eingegangen am: 23.11.2026, 09:00 Uhr",
        f"Stand abrufen unter: {STATUS_URL}",
        "Beschwerdestelle der Polizei Prüfland\nPostfach 4 56\n99999 Prüfstadt",
        "E-Mail: beschwerde@polizei.pruefland.example",
        "Telefon: 0999 654321-0",
    ):
        assert expected in content, expected

    # The code is in no address the browser would request: only in the data: link it saves locally.
    requested = [address for address in _ADDRESSES.findall(response.text) if not address.startswith("data:")]
    assert not [address for address in requested if code in address or code.replace("-", "") in address]
    assert code not in response.headers.get("location", "")
    # Print and download are offered, and not printed themselves.
    keep = response.text[response.text.index('<div class="no-print">') :]
    assert keep.index('id="receipt-download"') < keep.index("</div>")
    assert "Druckfunktion Ihres Browsers" in text
    return reference, code


async def test_the_citizens_receipt_can_be_kept(https_client: Client) -> None:
    response = await submit(https_client)
    assert_html(response, 201)
    _, code = assert_keepable_receipt(response)
    assert "Demo" not in text_of(response.text[response.text.index("<main") :])
    assert CODE.fullmatch(code)


async def test_the_offices_receipt_can_be_kept_and_passed_on(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_HANDLER, identity_clock)
    form = await get_page(https_client, ENTRY)
    response = await post_form(https_client, ENTRY, {"_csrf": csrf_of(form.text), **letter()})
    assert_html(response, 201)
    assert_keepable_receipt(response)


async def test_the_code_groups_never_break_inside(https_client: Client) -> None:
    for stylesheet in ("/static/css/site.css", "/static/css/print.css"):
        css = (await https_client.get(stylesheet)).text
        assert ".code-group { white-space: nowrap; }" in css, stylesheet
    print_css = (await https_client.get("/static/css/print.css")).text
    assert ".site-header, .site-footer, .skip-link, .no-print, button, .button" in print_css


async def test_the_file_is_in_the_readers_language(https_client: Client) -> None:
    await https_client.get("/sprache/en?weiter=/beschwerde")
    response = await submit(https_client)
    assert_html(response, 201)
    name, content = downloaded(response.text)
    reference = REFERENCE.search(content)
    assert reference
    assert name == f"complaint-{reference.group(0)}.txt"
    assert "Access code: " in content
    assert f"Check the progress at: {STATUS_URL}" in content
    assert "valid for this complaint" in content
