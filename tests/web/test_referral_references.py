"""Referral references on the pages: the officer's confirmation names the new referral, every list shows
each referral's reference with a link text of its own, and each case page is headed by it."""

from __future__ import annotations

import re

from referral_service.identity.roles import Role
from referral_service.referrals.policy import LOCAL_TIMEZONE
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.referral_forms import refer
from tests.web.support import Client, assert_html, get_page, sign_in, text_of

# A case link's name (its visible text is the reference alone).
_LINK = re.compile(
    r'<a href="(/(?:polizei/vermittlungen|weisser-ring/faelle)/[0-9a-f-]{36})" class="case-link"'
    r' aria-label="([^"]+)">'
)


def _links(page_html: str) -> dict[str, str]:
    """Each case link of a list: its name -> where it leads."""
    found = _LINK.findall(page_html)
    texts = [text for _, text in found]
    assert len(set(texts)) == len(texts), f"link texts repeat: {texts}"
    return {text: path for path, text in found}


def _heading(page_html: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", page_html, flags=re.S)
    assert match
    return text_of(match.group(1))


async def test_references_name_the_new_referral_and_every_row_and_case_page(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, referral_clock: FakeClock
) -> None:
    year = referral_clock.now().astimezone(LOCAL_TIMEZONE).year
    first, second, unrouted = (f"VM-{year}-{n:06d}" for n in (1, 2, 3))
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)

    confirmations = []
    for postcode in ("01099", "01067", "99999"):
        sent = await refer(https_client, identity_clock, postcode=postcode)
        assert sent.status_code == 303
        # The redirect carries the notice's code only, nothing of the case.
        assert sent.headers["location"].startswith("/polizei?meldung=vermittlung_")
        assert "VM-" not in sent.headers["location"]
        listing = await get_page(https_client, sent.headers["location"])
        assert_html(listing)
        notice = re.search(r'<div class="notice" role="status"><p>(.*?)</p>', listing.text)
        assert notice
        confirmations.append(text_of(notice.group(1)))
    assert confirmations[0].startswith(f"Vermittlung {first} übermittelt.")
    assert confirmations[1].startswith(f"Vermittlung {second} übermittelt.")
    assert confirmations[2].startswith(f"Vermittlung {unrouted} übermittelt.")
    assert "Landesbüro" in confirmations[2]

    police_links = _links((await get_page(https_client, "/polizei")).text)
    assert sorted(police_links) == sorted(f"Vermittlung {ref} öffnen" for ref in (first, second, unrouted))
    detail = await get_page(https_client, police_links[f"Vermittlung {second} öffnen"])
    assert_html(detail)
    assert _heading(detail.text) == f"Vermittlung {second}"
    https_client.cookies.clear()

    await sign_in(https_client, routed, "volunteer.dresden", identity_clock)
    inbox_links = _links((await get_page(https_client, "/weisser-ring")).text)
    assert sorted(inbox_links) == [f"Vermittlung {first} öffnen", f"Vermittlung {second} öffnen"]
    case = await get_page(https_client, inbox_links[f"Vermittlung {first} öffnen"])
    assert_html(case)
    assert _heading(case.text) == f"Fall {first}"
    https_client.cookies.clear()

    await sign_in(https_client, routed, Role.WR_STATE_OFFICE, identity_clock)
    queue_links = _links((await get_page(https_client, "/weisser-ring/landesbuero")).text)
    assert list(queue_links) == [f"Vermittlung {unrouted} öffnen"]
    queued = await get_page(https_client, queue_links[f"Vermittlung {unrouted} öffnen"])
    assert _heading(queued.text) == f"Fall {unrouted}"
