"""The area navigation marks the area a page belongs to, also on the pages within it: the area whose
path is the longest prefix of the page's path, at a segment boundary."""

from __future__ import annotations

import re

import pytest

from referral_service.identity.roles import Role
from referral_service.web.render import Area, area_of
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.support import Client, assert_html, csrf_of, get_page, post_form, sign_in

_NONE: frozenset[Role] = frozenset()
POLICE = Area("/polizei", "area.police", _NONE)
WR = Area("/weisser-ring", "area.wr", _NONE)
STATE_OFFICE = Area("/weisser-ring/landesbuero", "area.wr_state_office", _NONE)
OFFICE = Area("/beschwerdestelle", "area.complaints_office", _NONE)
AREAS = [POLICE, WR, STATE_OFFICE, OFFICE]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/polizei", POLICE),
        ("/polizei/", POLICE),
        ("/polizei/suche", POLICE),
        ("/polizei/vermittlungen/4711/korrektur", POLICE),
        ("/polizeiX", None),
        ("/polizei-archiv/suche", None),
        ("/weisser-ring", WR),
        ("/weisser-ring/faelle/4711", WR),
        ("/weisser-ring/landesbuero", STATE_OFFICE),
        ("/weisser-ring/landesbuero/vermittlungen/4711", STATE_OFFICE),
        ("/weisser-ringe", None),
        ("/beschwerdestelle/beschwerden/4711", OFFICE),
        ("/", None),
        ("/konto", None),
    ],
)
def test_a_page_belongs_to_the_area_with_the_longest_path_prefix(path: str, expected: Area | None) -> None:
    assert area_of(path, AREAS) == expected
    # The order the areas are declared in does not matter.
    assert area_of(path, list(reversed(AREAS))) == expected


def test_the_root_is_no_area() -> None:
    assert area_of("/polizei", [Area("/", "area.police", _NONE)]) is None


def marked(page_html: str) -> dict[str, str]:
    """The area navigation's links that carry aria-current, with its value."""
    nav = re.search(r'<nav class="area-nav".*?</nav>', page_html, flags=re.S)
    assert nav
    return dict(re.findall(r'<a href="([^"]+)" aria-current="([a-z]+)"', nav.group(0)))


async def test_the_navigation_marks_the_area_on_its_own_page_and_on_the_pages_within(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    station = await get_page(https_client, "/polizei")
    assert_html(station)
    assert marked(station.text) == {"/polizei": "page"}
    # The case number search is answered on /polizei/suche: a page within the area.
    searched = await post_form(
        https_client, "/polizei/suche", {"_csrf": csrf_of(station.text), "vorgangsnummer": "4711/26"}
    )
    assert_html(searched)
    assert marked(searched.text) == {"/polizei": "true"}
    # A page of no area marks none.
    account = await get_page(https_client, "/konto")
    assert_html(account)
    assert marked(account.text) == {}


async def test_the_complaints_office_stays_marked_on_its_sub_pages(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    entry = await get_page(https_client, "/beschwerdestelle/erfassen")
    assert_html(entry)
    assert marked(entry.text) == {"/beschwerdestelle": "true"}
    report = await get_page(https_client, "/berichte/beschwerden")
    assert_html(report)
    assert marked(report.text) == {"/berichte/beschwerden": "page"}
