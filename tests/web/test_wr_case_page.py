"""The WEISSER RING's case page: the next sensible step first and the others folded away, every form's
errors in page order under the field's own label, and closing a case only after a second step."""

from __future__ import annotations

import re

from referral_service.identity.roles import Role
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.referral_forms import case_ids, refer
from tests.web.support import (
    Client,
    assert_error_summary,
    assert_html,
    csrf_of,
    get_page,
    post_form,
    sign_in,
    text_of,
)

_FOLD = re.compile(r'<details class="more-steps"( open)?>(.*?)</details>', re.S)


def _steps(page_html: str, case_path: str) -> tuple[str, list[str], bool | None]:
    """The case's forms as a person meets them: the one shown first, those folded away (in page
    order), and whether the fold is open (None without a fold)."""
    form = re.compile(r'<form method="post" action="' + re.escape(case_path) + r'/([a-z-]+)"')
    fold = _FOLD.search(page_html)
    outside = _FOLD.sub("", page_html)
    shown = form.findall(outside)
    assert len(shown) <= 1, f"more than one step shown unfolded: {shown}"
    folded = form.findall(fold.group(2)) if fold else []
    return (shown[0] if shown else ""), folded, (bool(fold.group(1)) if fold else None)


async def _referred(client: Client, directory: DemoDirectory, clock: FakeClock, **overrides: str) -> None:
    """An officer refers a victim (routed to the Dresden branch by default) and signs out."""
    await sign_in(client, directory, Role.POLICE_OFFICER, clock)
    assert (await refer(client, clock, **overrides)).status_code == 303
    client.cookies.clear()


async def _case_of(
    client: Client, directory: DemoDirectory, who: Role | str, clock: FakeClock
) -> tuple[str, str]:
    """`who` signs in and opens the one case in their list: its path and the form token."""
    await sign_in(client, directory, who, clock)
    listing = "/weisser-ring/landesbuero" if who == Role.WR_STATE_OFFICE else "/weisser-ring"
    [case_id] = await case_ids(client, listing)
    path = f"/weisser-ring/faelle/{case_id}"
    return path, csrf_of((await get_page(client, path)).text)


async def _step(client: Client, path: str, data: dict[str, object]) -> None:
    done = await post_form(client, path, data)
    assert done.status_code == 303, done.text[:2000]


async def test_a_volunteer_meets_the_next_step_first_in_every_state(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    await _referred(https_client, routed, identity_clock)
    path, token = await _case_of(https_client, routed, "volunteer.dresden", identity_clock)

    async def steps() -> tuple[str, list[str], bool | None]:
        shown = await get_page(https_client, path)
        assert_html(shown)
        return _steps(shown.text, path)

    # New: take it on; declining and the consent withdrawal are there, folded away.
    assert await steps() == ("annehmen", ["ablehnen", "einwilligung-widerrufen"], False)
    await _step(https_client, path + "/annehmen", {"_csrf": token})
    # Accepted: the first contact; a failed attempt, closing as unreachable and the withdrawal folded.
    assert await steps() == (
        "erstkontakt",
        ["kontaktversuch", "abschliessen", "einwilligung-widerrufen"],
        False,
    )
    await _step(https_client, path + "/kontaktversuch", {"_csrf": token, "attempt_channel": "phone"})
    assert (await steps())[0] == "erstkontakt"  # after a failed attempt: still the first contact
    await _step(https_client, path + "/erstkontakt", {"_csrf": token, "contact_channel": "phone"})
    # In contact: the close, which asks on a second step.
    assert await steps() == ("abschliessen", ["einwilligung-widerrufen"], False)
    close = {"_csrf": token, "outcome": "declined_by_victim", "confirmed": "1"}
    await _step(https_client, path + "/abschliessen", close)
    # Closed: nothing left to do, and no heading for steps that are not there.
    closed = await get_page(https_client, path)
    assert _steps(closed.text, path) == ("", [], None)
    assert "Nächster Schritt" not in closed.text


async def test_the_branch_lead_assigns_a_new_case_first(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    await _referred(https_client, routed, identity_clock)
    path, _ = await _case_of(https_client, routed, "branchlead.dresden", identity_clock)
    shown = await get_page(https_client, path)
    assert _steps(shown.text, path) == (
        "zuweisen",
        ["annehmen", "ablehnen", "einwilligung-widerrufen"],
        False,
    )
    # The fold names what it holds, so nobody has to open it to find a step.
    assert "Weitere Schritte: Fall annehmen, Vermittlung ablehnen, Widerruf der Einwilligung erfassen" in (
        text_of(shown.text)
    )


async def test_the_state_office_routes_first(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    await _referred(https_client, routed, identity_clock, postcode="99999")
    path, _ = await _case_of(https_client, routed, Role.WR_STATE_OFFICE, identity_clock)
    assert _steps((await get_page(https_client, path)).text, path) == ("weiterleiten", [], None)


async def test_the_assign_and_route_lists_ask_to_choose(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    await _referred(https_client, routed, identity_clock)
    path, token = await _case_of(https_client, routed, "branchlead.dresden", identity_clock)
    unchosen = await post_form(https_client, path + "/zuweisen", {"_csrf": token, "assignee_id": ""})
    assert_html(unchosen, 422)
    assert assert_error_summary(unchosen.text) == ["assignee_id"]
    said = text_of(unchosen.text)
    assert "Ehrenamtliche Person: Bitte wählen Sie eine der Möglichkeiten aus." in said
    assert "Bitte füllen Sie dieses Feld aus" not in said
    https_client.cookies.clear()

    await _referred(https_client, routed, identity_clock, postcode="99999")
    path, token = await _case_of(https_client, routed, Role.WR_STATE_OFFICE, identity_clock)
    unrouted = await post_form(https_client, path + "/weiterleiten", {"_csrf": token, "branch_id": "x"})
    assert_html(unrouted, 422)
    assert assert_error_summary(unrouted.text) == ["branch_id"]
    assert "Außenstelle: Bitte wählen Sie eine der Möglichkeiten aus." in text_of(unrouted.text)


async def test_every_form_reports_its_errors_in_page_order_under_its_labels(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    await _referred(https_client, routed, identity_clock)
    path, token = await _case_of(https_client, routed, "volunteer.dresden", identity_clock)

    # A folded form comes back unfolded, with its messages.
    declined = await post_form(https_client, path + "/ablehnen", {"_csrf": token})
    assert_html(declined, 422)
    assert assert_error_summary(declined.text) == ["decline_reason"]
    assert _steps(declined.text, path)[2] is True

    await _step(https_client, path + "/annehmen", {"_csrf": token})
    wrong_time = "gestern Abend"
    attempt = await post_form(
        https_client, path + "/kontaktversuch", {"_csrf": token, "attempted_at": wrong_time}
    )
    assert_html(attempt, 422)
    assert assert_error_summary(attempt.text) == ["attempt_channel", "attempted_at"]
    said = text_of(attempt.text)
    assert "Weg des Kontaktversuchs: Bitte wählen Sie" in said
    assert _steps(attempt.text, path)[2] is True
    contact = await post_form(
        https_client, path + "/erstkontakt", {"_csrf": token, "contacted_at": wrong_time}
    )
    assert_html(contact, 422)
    assert assert_error_summary(contact.text) == ["contact_channel", "contacted_at"]
    assert "Weg des Erstkontakts: Bitte wählen Sie" in text_of(contact.text)
    assert _steps(contact.text, path)[2] is False  # the form shown first needs no unfolding
    withdraw = await post_form(https_client, path + "/einwilligung-widerrufen", {"_csrf": token})
    assert_html(withdraw, 422)
    assert assert_error_summary(withdraw.text) == ["confirm"]

    await _step(https_client, path + "/erstkontakt", {"_csrf": token, "contact_channel": "email"})
    unclosed = await post_form(
        https_client, path + "/abschliessen", {"_csrf": token, "support_given": "something_else"}
    )
    assert_html(unclosed, 422)
    assert assert_error_summary(unclosed.text) == ["outcome", "support_given"]
    unsupported = await post_form(
        https_client, path + "/abschliessen", {"_csrf": token, "outcome": "supported"}
    )
    assert_html(unsupported, 422)  # the service's rule, at its field, without asking first
    assert assert_error_summary(unsupported.text) == ["support_given"]


async def test_closing_asks_first_and_names_the_outcome(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    await _referred(https_client, routed, identity_clock)
    path, token = await _case_of(https_client, routed, "volunteer.dresden", identity_clock)
    await _step(https_client, path + "/annehmen", {"_csrf": token})
    await _step(https_client, path + "/erstkontakt", {"_csrf": token, "contact_channel": "phone"})
    close = {"_csrf": token, "outcome": "supported", "support_given": ["personal_support", "financial_aid"]}

    asked = await post_form(https_client, path + "/abschliessen", close)
    assert_html(asked)
    said = text_of(asked.text)
    assert "Fall als „unterstützt“ abschließen?" in said
    assert "lässt sich nicht wieder öffnen" in said
    assert f'href="{path}"' in asked.text  # the way back without closing
    # The choices are carried to the second step.
    assert 'name="support_given" value="financial_aid"' in asked.text
    still_open = await get_page(https_client, path)
    assert _steps(still_open.text, path)[0] == "abschliessen"

    closed = await post_form(https_client, path + "/abschliessen", {**close, "confirmed": "1"})
    assert closed.headers["location"] == f"{path}?meldung=abgeschlossen"
    assert "unterstützt" in text_of((await get_page(https_client, path)).text)
