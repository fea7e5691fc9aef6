"""The auditor's readable event search page: user names, actions in words, outcome and local days,
pages posted with a cursor (no filter in any URL), details readable, and the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service import listing
from referral_service.audit.recorder import to_us
from referral_service.identity.roles import Role
from tests.audit.test_event_search import event, insert_events
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.support import Client, assert_error_summary, assert_html, csrf_of, get_page, post_form, text_of

SEARCH = "/revision/ereignisse"
EXPORT = "/revision/ereignisse/export"
READ = "referral:referral:read"


async def _signed_in_auditor(client: Client, directory: DemoDirectory, clock: FakeClock) -> str:
    from tests.web.support import sign_in

    await sign_in(client, directory, Role.AUDITOR, clock)
    form = await get_page(client, SEARCH)
    assert_html(form)
    return csrf_of(form.text)


@pytest.fixture
async def officer_log(engine: AsyncEngine, demo_directory: DemoDirectory) -> DemoDirectory:
    """53 reads by the demo police officer (one denied, with details), two by somebody else."""
    officer = demo_directory.account(Role.POLICE_OFFICER)
    mine = {"actor_id": str(officer.user_id), "actor_unit_id": str(officer.unit.id)}
    rows = [event(index, **mine, target_id=f"case-{index:02d}") for index in range(53)]
    rows[7] = {**rows[7], "outcome": "denied", "details": '{"fields":["victim_name","phone"],"returned":2}'}
    rows += [
        event(60, actor_id="someone-else", target_id="other-1"),
        event(61, actor_id="x", target_id="other-2"),
    ]
    await insert_events(engine, rows)
    return demo_directory


def _targets(page_html: str) -> list[str]:
    return re.findall(r"<code class=\"details-json\">((?:case|other)-[0-9a-z-]+)</code>", page_html)


def _hidden(page_html: str, form_action: str, button: str) -> dict[str, str]:
    """The fields of the form whose button says `button`."""
    for form in re.findall(r"<form[^>]*>.*?</form>", page_html, flags=re.S):
        if f'action="{form_action}"' in form and button in form:
            return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    raise AssertionError(f"no form with {button!r}")


async def test_a_user_name_finds_that_users_events_page_by_page(
    https_client: Client, officer_log: DemoDirectory, identity_clock: FakeClock
) -> None:
    officer = officer_log.account(Role.POLICE_OFFICER)
    token = await _signed_in_auditor(https_client, officer_log, identity_clock)
    first = await post_form(
        https_client, SEARCH, {"_csrf": token, "actor": officer.username.upper(), "action": READ}
    )
    assert_html(first)
    shown = _targets(first.text)
    assert shown == [f"case-{index:02d}" for index in range(52, 2, -1)]  # newest first, 50 a page
    page_text = text_of(first.text)
    assert officer.username in page_text
    assert "Vermittlung angesehen" in page_text  # the action in words
    assert "Polizei: Sachbearbeitung" in page_text  # the role in words
    assert "other-1" not in first.text
    assert "Zurück zur ersten Seite" not in first.text  # already there
    # The next page is posted: the user name travels in a hidden field, never in a URL.
    assert officer.username.upper() not in " ".join(re.findall(r'(?:href|action)="([^"]*)"', first.text))
    following = _hidden(first.text, SEARCH, "Nächste Seite")
    assert following["actor"] == officer.username.upper()
    second = await post_form(https_client, SEARCH, following)
    assert_html(second)
    assert _targets(second.text) == ["case-02", "case-01", "case-00"]
    assert "Nächste Seite" not in second.text
    back = await post_form(https_client, SEARCH, _hidden(second.text, SEARCH, "Zurück zur ersten Seite"))
    assert _targets(back.text) == shown


async def test_an_unknown_user_name_says_so_instead_of_showing_nothing(
    https_client: Client, officer_log: DemoDirectory, identity_clock: FakeClock
) -> None:
    token = await _signed_in_auditor(https_client, officer_log, identity_clock)
    unknown = await post_form(https_client, SEARCH, {"_csrf": token, "actor": "nobody.here"})
    assert_html(unknown, 422)
    assert "Es gibt kein Konto mit diesem Anmeldenamen." in unknown.text
    assert assert_error_summary(unknown.text) == ["actor"]
    assert "Keine Ereignisse gefunden." not in unknown.text


@pytest.mark.parametrize(
    ("form", "fields"),
    [
        ({"action": "referral:referral:fly"}, {"action"}),
        ({"outcome": "maybe"}, {"outcome"}),
        ({"target_type": "no_such_kind"}, {"target_type"}),
        ({"actor": "a b"}, {"actor"}),
        ({"since": "2026-03-12", "until": "2026-03-11"}, {"until"}),
        ({"since": "0001-01-01", "until": "9999-12-31"}, {"since", "until"}),
        ({"since": "31.02.2026"}, {"since"}),
    ],
)
async def test_bad_values_are_shown_at_their_fields(
    https_client: Client,
    officer_log: DemoDirectory,
    identity_clock: FakeClock,
    form: dict[str, str],
    fields: set[str],
) -> None:
    token = await _signed_in_auditor(https_client, officer_log, identity_clock)
    for path in (SEARCH, EXPORT):
        answer = await post_form(https_client, path, {"_csrf": token, **form})
        assert_html(answer, 422)
        assert set(assert_error_summary(answer.text)) == fields


async def test_outcome_and_local_days_narrow_the_search(
    https_client: Client, engine: AsyncEngine, officer_log: DemoDirectory, identity_clock: FakeClock
) -> None:
    late = dt.datetime(2026, 3, 20, 23, 30, tzinfo=dt.UTC)  # already 21 March in Germany
    await insert_events(engine, [event(0, occurred_at_us=to_us(late), target_id="case-late")])
    token = await _signed_in_auditor(https_client, officer_log, identity_clock)
    denied = await post_form(https_client, SEARCH, {"_csrf": token, "outcome": "denied"})
    assert _targets(denied.text) == ["case-07"]
    assert "verweigert" in text_of(denied.text)
    # Details as a list of their keys and values; the raw JSON one click away.
    assert re.search(r"<dt>fields</dt><dd>victim_name, phone</dd>", denied.text)
    assert "<summary>Rohdaten (JSON)</summary>" in denied.text
    on_the_21st = await post_form(
        https_client, SEARCH, {"_csrf": token, "since": "2026-03-21", "until": "2026-03-21"}
    )
    assert _targets(on_the_21st.text) == ["case-late"]
    on_the_20th = await post_form(
        https_client, SEARCH, {"_csrf": token, "since": "2026-03-20", "until": "2026-03-20", "action": READ}
    )
    assert "case-late" not in on_the_20th.text


async def test_the_auditor_exports_the_search_as_csv_and_the_export_is_recorded(
    https_client: Client,
    engine: AsyncEngine,
    officer_log: DemoDirectory,
    identity_clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    officer = officer_log.account(Role.POLICE_OFFICER)
    token = await _signed_in_auditor(https_client, officer_log, identity_clock)
    found = await post_form(https_client, SEARCH, {"_csrf": token, "actor": officer.username, "action": READ})
    download = await post_form(https_client, EXPORT, _hidden(found.text, EXPORT, "als CSV herunterladen"))
    assert download.status_code == 200, download.text[:500]
    assert download.headers["content-disposition"] == 'attachment; filename="audit-events.csv"'
    header, *rows = list(csv.reader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert len(rows) == 53  # every page, not only the first
    assert rows[0][4:7] == ["Vermittlung angesehen", "erfolgreich", officer.username]
    assert header[0] == "Position"
    async with engine.connect() as connection:
        recorded = (
            await connection.execute(
                text("SELECT details FROM audit_events WHERE action = 'audit:event:export'")
            )
        ).scalar_one()
    assert json.loads(recorded) == {"filtered_by": ["action", "actor_ids"], "returned": 53}

    monkeypatch.setattr(listing, "EXPORT_LIMIT", 10)
    too_many = await post_form(https_client, EXPORT, _hidden(found.text, EXPORT, "als CSV herunterladen"))
    assert_html(too_many, 422)
    assert "Die Suche findet mehr als 10 Ereignisse." in too_many.text


async def test_the_search_reads_in_english(
    https_client: Client, officer_log: DemoDirectory, identity_clock: FakeClock
) -> None:
    token = await _signed_in_auditor(https_client, officer_log, identity_clock)
    https_client.cookies.set("rs_lang", "en")
    found = await post_form(https_client, SEARCH, {"_csrf": token, "outcome": "denied"})
    assert_html(found)
    assert "Referral viewed" in found.text
    assert "denied" in text_of(found.text)
    assert '<optgroup label="Referrals">' in found.text


@pytest.mark.parametrize(
    "role",
    [Role.ADMIN, Role.POLICE_SUPERVISOR, Role.WR_STATE_OFFICE, Role.COMPLAINTS_LEAD, Role.WR_VOLUNTEER],
)
async def test_only_the_auditor_opens_the_search_and_exports(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, role: Role
) -> None:
    from tests.web.support import sign_in

    await sign_in(https_client, demo_directory, role, identity_clock)
    assert_html(await get_page(https_client, SEARCH), 403)
    start = await get_page(https_client, "/konto")
    token = csrf_of(start.text)
    assert_html(await post_form(https_client, EXPORT, {"_csrf": token}), 403)
    assert_html(await post_form(https_client, SEARCH, {"_csrf": token}), 403)
