"""The case timeline: the WEISSER RING sees every step with the acting role and its contact attempts;
the referring station sees the changes of status only, with the WEISSER RING named as one."""

from __future__ import annotations

import re

from referral_service.identity.roles import Role
from referral_service.referrals.domain import ReferralAction
from referral_service.referrals.service import views
from referral_service.web.i18n import catalogue
from tests.identity.support import DemoDirectory, FakeClock
from tests.referrals.support import VICTIM_NAME, VICTIM_PHONE
from tests.web.referral_forms import police_referral_ids, refer
from tests.web.support import Client, assert_html, csrf_of, get_page, post_form, sign_in, text_of


def test_every_step_and_actor_has_a_label_in_both_languages() -> None:
    actors = [
        views.ACTOR_POLICE,
        views.ACTOR_WR,
        views.ACTOR_SYSTEM,
        views.ACTOR_UNKNOWN,
        Role.WR_VOLUNTEER,
        Role.WR_BRANCH_LEAD,
        Role.WR_STATE_OFFICE,
    ]
    for language in ("de", "en"):
        texts = catalogue(language)
        for action in ["submit", *ReferralAction]:
            assert f"referral.timeline.action.{action}" in texts, (language, action)
        for actor in actors:
            assert f"referral.actor.{actor}" in texts, (language, actor)


_TIME = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4}), (\d{2}:\d{2}) Uhr ")


def _rows(page_html: str, caption: str) -> list[tuple[str, str]]:
    """The rows of the table with this caption: (time as sortable text, the rest of the row's text)."""
    table = re.search(rf"<caption>{caption}</caption>(.*?)</table>", page_html, flags=re.S)
    if table is None:
        return []
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), flags=re.S)[1:]:
        text = text_of(row)
        when = _TIME.match(text)
        assert when, text
        day, month, year, clock = when.groups()
        rows.append((f"{year}-{month}-{day} {clock}", text[when.end() :]))
    return rows


async def _post(client: Client, path: str, **fields: str) -> None:
    case = await get_page(client, path.rsplit("/", 1)[0])
    response = await post_form(client, path, {"_csrf": csrf_of(case.text), **fields})
    assert response.status_code == 303, response.text


async def test_the_timeline_shows_each_side_what_it_may_see(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, referral_clock: FakeClock
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    await refer(https_client, identity_clock)
    [referral_id] = await police_referral_ids(https_client)
    case = f"/weisser-ring/faelle/{referral_id}"
    https_client.cookies.clear()

    # The branch lead gives the case to a volunteer (accepting it), then gives it again (no new status).
    await sign_in(https_client, routed, "branchlead.dresden", identity_clock)
    volunteer = str(routed.account("volunteer.dresden").user_id)
    referral_clock.advance(hours=1)
    await _post(https_client, case + "/zuweisen", assignee_id=volunteer)
    referral_clock.advance(hours=1)
    await _post(https_client, case + "/zuweisen", assignee_id=volunteer)
    https_client.cookies.clear()

    await sign_in(https_client, routed, "volunteer.dresden", identity_clock)
    referral_clock.advance(hours=1)
    await _post(https_client, case + "/kontaktversuch", attempt_channel="phone")
    referral_clock.advance(hours=1)
    await _post(https_client, case + "/erstkontakt", contact_channel="visit")
    page = await get_page(https_client, case)
    assert_html(page)
    steps = _rows(page.text, "Statusänderungen")
    assert [what for _, what in steps] == [
        "Vermittlung übermittelt übermittelt, noch nicht angenommen Polizei",
        "Fall zugewiesen angenommen WEISSER RING, Außenstellenleitung",
        "Fall zugewiesen angenommen WEISSER RING, Außenstellenleitung",
        "Kontaktversuch erfasst Kontaktversuch WEISSER RING, ehrenamtlich",
        "Erstkontakt erfasst in Kontakt WEISSER RING, ehrenamtlich",
    ]
    times = [when for when, _ in steps]
    assert times == sorted(times)  # oldest first
    assert len(set(times)) == len(times)  # an hour apart each
    assert [what for _, what in _rows(page.text, "Kontaktversuche und Erstkontakt")] == [
        "Telefon nicht erreicht WEISSER RING, ehrenamtlich",
        "Besuch erreicht WEISSER RING, ehrenamtlich",
    ]
    https_client.cookies.clear()

    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    feedback = await get_page(https_client, f"/polizei/vermittlungen/{referral_id}")
    assert_html(feedback)
    # The re-assignment within the branch is not a change of status: the station does not see it.
    assert [what for _, what in _rows(feedback.text, "Statusänderungen")] == [
        "Vermittlung übermittelt übermittelt, noch nicht angenommen Polizei",
        "Fall zugewiesen angenommen WEISSER RING",
        "Kontaktversuch erfasst Kontaktversuch WEISSER RING",
        "Erstkontakt erfasst in Kontakt WEISSER RING",
    ]
    text = text_of(feedback.text)
    assert "Kontaktversuche" not in text  # no contact attempts for the police
    assert "Außenstellenleitung" not in text
    assert "ehrenamtlich" not in text
    assert VICTIM_NAME not in text
    assert VICTIM_PHONE not in text


async def test_routing_and_declining_show_who_acted(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, referral_clock: FakeClock
) -> None:
    """Unrouted, routed by the state office, declined by the branch: back at the state office."""
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    await refer(https_client, identity_clock, postcode="99999")
    [referral_id] = await police_referral_ids(https_client)
    case = f"/weisser-ring/faelle/{referral_id}"
    dresden = str(routed.unit("wr-dresden").id)
    https_client.cookies.clear()
    await sign_in(https_client, routed, Role.WR_STATE_OFFICE, identity_clock)
    referral_clock.advance(minutes=5)
    await _post(https_client, case + "/weiterleiten", branch_id=dresden)
    https_client.cookies.clear()
    await sign_in(https_client, routed, "branchlead.dresden", identity_clock)
    referral_clock.advance(minutes=5)
    await _post(https_client, case + "/ablehnen", decline_reason="no_capacity")
    https_client.cookies.clear()
    identity_clock.advance(seconds=31)  # a one-time code counts once
    await sign_in(https_client, routed, Role.WR_STATE_OFFICE, identity_clock)
    page = await get_page(https_client, case)
    assert [what for _, what in _rows(page.text, "Statusänderungen")] == [
        "Vermittlung übermittelt übermittelt, noch nicht angenommen Polizei",
        "einer Außenstelle zugeordnet übermittelt, noch nicht angenommen WEISSER RING, Landesbüro",
        "von der Außenstelle abgelehnt von der Außenstelle abgelehnt, beim Landesbüro "
        "WEISSER RING, Außenstellenleitung",
    ]
    assert "Kontaktversuche" not in text_of(page.text)  # none recorded: no empty table
