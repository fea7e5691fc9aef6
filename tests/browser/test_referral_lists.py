"""The referral lists in a real browser: the police list with a filter and the case number search, the
WEISSER RING inbox with a filter and a second page, and the state office's "Vermittelt" view leading to
a routed case it may only read. Every state fits a phone's width and passes axe (`AtBothWidths`).

The cases come through the API (one officer of Leipzig, whom no other browser test uses, so the counts
below are this module's alone): 51 for the Leipzig branch, so that its inbox has a second page, and one
with a postcode no branch covers, for the state office."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.pages import sign_in, sign_out
from tests.browser.support import PHONE, AtBothWidths, LiveServer

pytestmark = pytest.mark.browser

OFFICER = "officer.leipzig"
BRANCH_CASES = 51  # one more than a page
ROBBERY_CASE_NUMBER = "L-0815/26-R"
SEARCHED_CASE_NUMBER = "L-0004/26-K"


def _api(server: LiveServer, path: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    request = urllib.request.Request(server.url(path), data=json.dumps(body).encode(), method="POST")  # noqa: S310 - our own server
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own server
        result: dict[str, Any] = json.loads(response.read())
        return result


def _referral(number: int, *, case_number: str, postcode: str, offence: str, urgency: str) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {
        "victim": {
            "name": f"Person {number}",
            "postcode": postcode,
            "phone": "+49 341 5550123",
            "city": "Leipzig",
            "language": "de",
        },
        "consent": {
            "given_by": "victim",
            "given_at": (now - dt.timedelta(minutes=10)).isoformat(),
            "form": "written",
            "scope": "transfer_to_wr_for_contact_and_support",
        },
        "offence_category": offence,
        "incident_date": (now - dt.timedelta(days=1)).date().isoformat(),
        "circumstances": "Bedrohung auf dem Heimweg.",
        "requested_support": ["personal_support"],
        "case_number": case_number,
        "urgency": urgency,
    }


@pytest.fixture(scope="module")
def cases(server: LiveServer) -> dict[str, str]:
    """The module's referrals; the references of those the tests look for, by case number."""
    login = {"username": OFFICER, "password": server.password(OFFICER), "totp_code": None}
    token = _api(server, "/api/v1/auth/token", login)["token"]
    references: dict[str, str] = {}
    for number in range(BRANCH_CASES):
        robbery = number == 0
        case_number = ROBBERY_CASE_NUMBER if robbery else f"L-{number:04d}/26-K"
        payload = _referral(
            number,
            case_number=case_number,
            postcode="04109",
            offence="robbery" if robbery else "threat",
            urgency="high" if robbery else "normal",
        )
        references[case_number] = _api(server, "/api/v1/referrals", payload, token)["reference"]
    unrouted = _referral(99, case_number="L-0099/26-K", postcode="01500", offence="threat", urgency="normal")
    references["unrouted"] = _api(server, "/api/v1/referrals", unrouted, token)["reference"]
    return references


def _shown_references(page: Any) -> list[str]:
    return [text.strip() for text in page.locator("table a.case-link").all_inner_texts()]


def _reference_stays_in_view_on_a_phone(page: Any) -> None:
    """Scrolled sideways to the last column, the table still shows each row's reference."""
    page.set_viewport_size(PHONE)
    try:
        wrap = page.locator(".table-wrap").first
        wrap.evaluate("wrap => { wrap.scrollLeft = wrap.scrollWidth; }")
        assert wrap.evaluate("wrap => wrap.scrollLeft") > 0, "the table does not scroll at phone width"
        box = page.locator("table a.case-link").first.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def test_police_list_filters_and_finds_a_case_number_without_putting_it_in_the_address(
    page: Any, server: LiveServer, cases: dict[str, str]
) -> None:
    states = AtBothWidths(page, "police-list")
    sign_in(page, server, OFFICER)
    page.goto(server.url("/polizei"))
    assert len(_shown_references(page)) == 50
    expect(page.get_by_role("link", name="Nächste Seite")).to_be_visible()
    states.check("01-first-page")

    page.get_by_label("Deliktsbereich").select_option(label="Raub")
    page.get_by_label("Dringlichkeit").select_option(label="dringend")
    with page.expect_navigation():
        page.get_by_role("button", name="Anzeigen").click()
    assert "delikt=robbery" in page.url
    assert "dringlichkeit=high" in page.url
    assert _shown_references(page) == [cases[ROBBERY_CASE_NUMBER]]
    row = page.locator("table tbody tr")
    expect(row).to_contain_text(ROBBERY_CASE_NUMBER)
    expect(row).to_contain_text("Raub")
    expect(page.get_by_role("link", name="Nächste Seite")).to_have_count(0)
    # The link's name says what it opens, and differs per row (WCAG 2.4.4).
    expect(page.get_by_role("link", name=f"Vermittlung {cases[ROBBERY_CASE_NUMBER]} öffnen")).to_be_visible()
    states.check("02-filtered")

    page.get_by_role("textbox", name="Vorgangsnummer").fill(SEARCHED_CASE_NUMBER.lower())
    with page.expect_navigation():
        page.get_by_role("button", name="Suchen").click()
    assert page.url == server.url("/polizei/suche")
    assert "0004" not in page.url
    found = page.locator("section", has=page.get_by_role("heading", name="Suchergebnis"))
    expect(found.locator("tbody tr")).to_have_count(1)
    expect(found.locator("a.case-link")).to_have_text(cases[SEARCHED_CASE_NUMBER])
    expect(found).to_contain_text(SEARCHED_CASE_NUMBER)
    states.check("03-search-result")
    _reference_stays_in_view_on_a_phone(page)
    sign_out(page)


def test_inbox_filters_and_pages_without_repeating_a_case(
    page: Any, server: LiveServer, cases: dict[str, str]
) -> None:
    states = AtBothWidths(page, "wr-inbox")
    sign_in(page, server, "volunteer.leipzig")
    page.goto(server.url("/weisser-ring"))
    first = _shown_references(page)
    assert len(first) == 50
    states.check("01-first-page")

    with page.expect_navigation():
        page.get_by_role("link", name="Nächste Seite").click()
    second = _shown_references(page)
    assert second
    assert not set(first) & set(second)
    assert set(first) | set(second) >= {cases[key] for key in cases if key != "unrouted"}
    # A later page speaks of itself, and claims nothing of the whole inbox.
    assert len(second) == 1
    expect(page.locator(".inbox-summary")).to_have_text("Ein Fall auf dieser Seite.")
    expect(page.get_by_role("link", name="Nächste Seite")).to_have_count(0)
    states.check("02-second-page")
    _reference_stays_in_view_on_a_phone(page)

    with page.expect_navigation():
        page.get_by_role("link", name="Zurück zur ersten Seite").click()
    assert _shown_references(page) == first
    page.get_by_label("Deliktsbereich").select_option(label="Raub")
    with page.expect_navigation():
        page.get_by_role("button", name="Anzeigen").click()
    assert _shown_references(page) == [cases[ROBBERY_CASE_NUMBER]]
    expect(page.get_by_role("link", name="Alle Filter zurücksetzen")).to_be_visible()
    states.check("03-filtered")
    sign_out(page)


def test_state_office_routes_a_case_and_then_only_reads_it(
    page: Any, server: LiveServer, cases: dict[str, str]
) -> None:
    reference = cases["unrouted"]
    states = AtBothWidths(page, "wr-state-office-lists")
    sign_in(page, server, "stateoffice.sachsen")
    page.goto(server.url("/weisser-ring/landesbuero"))
    views = page.get_by_role("navigation", name="Ansichten des Landesbüros")
    expect(views.get_by_role("link", name="Zuzuordnen")).to_have_attribute("aria-current", "page")
    page.get_by_label("Kennung").fill(reference)
    with page.expect_navigation():
        page.get_by_role("button", name="Anzeigen").click()
    assert _shown_references(page) == [reference]
    expect(page.locator("table tbody tr")).to_contain_text("keine Außenstelle für die Postleitzahl")
    states.check("01-queue-filtered")

    with page.expect_navigation():
        page.get_by_role("link", name=f"Vermittlung {reference} öffnen").click()
    page.get_by_role("combobox", name="Außenstelle").select_option(label="WEISSER RING Außenstelle Leipzig")
    with page.expect_navigation():
        page.get_by_role("button", name="Zuordnen").click()

    page.goto(server.url("/weisser-ring/landesbuero"))
    with page.expect_navigation():
        views.get_by_role("link", name="Vermittelt").click()
    expect(views.get_by_role("link", name="Vermittelt")).to_have_attribute("aria-current", "page")
    expect(views.get_by_role("link", name="Zuzuordnen")).not_to_have_attribute("aria-current", "page")
    assert reference in _shown_references(page)
    row = page.locator("table tbody tr", has=page.locator("a.case-link", has_text=reference))
    expect(row).to_contain_text("vermittelt am")
    expect(row).to_contain_text("Leipzig")
    states.check("02-routed-view")

    with page.expect_navigation():
        page.get_by_role("link", name=f"Vermittlung {reference} öffnen").click()
    expect(page.get_by_text("Sie sehen ihn nur noch lesend")).to_be_visible()
    expect(page.locator("main form")).to_have_count(0)
    states.check("03-routed-case-read-only")
    sign_out(page)
