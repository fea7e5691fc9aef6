"""The office's queue page and the units' statement request page: filters by their German names with
the API's codes as values, 50 rows a page with "next page" and "back to the first page", taking a free
complaint, the lead's workload and export, readable errors for bad filter values, and a page that costs
the same statements for 3 and 30 rows."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from referral_service.identity.roles import Role
from tests.complaints.support import DESCRIPTION, NAME, OFFICE, QUESTION, anonymous_payload
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock
from tests.web.complaint_support import CASE_LINK, REFERENCE, submitted
from tests.web.support import (
    Client,
    assert_error_summary,
    assert_html,
    csrf_of,
    get_page,
    post_form,
    sign_in,
)

_NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


def _unescape(url: str) -> str:
    return url.replace("&amp;", "&")


def listed(page_html: str) -> list[str]:
    """The references in the page's last table (the list; the lead's workload table comes first)."""
    found = REFERENCE.findall(page_html.rsplit("<tbody>", 1)[1]) if "<tbody>" in page_html else []
    return list(dict.fromkeys(found))  # a free row names its reference twice: link or text, and button


async def test_a_handler_takes_a_free_complaint_from_the_queue_and_then_opens_it(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    reference, _ = await submitted(https_client)
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_HANDLER, identity_clock)
    queue = await get_page(https_client, "/beschwerdestelle?zustaendig=none")
    assert_html(queue)
    assert f'aria-label="Übernehmen {reference}"' in queue.text  # a unique name for each row's button
    assert CASE_LINK.search(queue.text) is None  # not to be opened before taking it
    action = re.search(r'action="(/beschwerdestelle/beschwerden/[0-9a-f-]{36})/uebernehmen"', queue.text)
    assert action
    taken = await post_form(https_client, action.group(1) + "/uebernehmen", {"_csrf": csrf_of(queue.text)})
    assert taken.headers["location"] == action.group(1) + "?meldung=beschwerde_uebernommen"
    case = await get_page(https_client, action.group(1))
    assert_html(case)
    assert DESCRIPTION in case.text
    mine = await get_page(https_client, "/beschwerdestelle?zustaendig=me")
    assert f'href="{action.group(1)}">{reference}</a>' in mine.text
    # Taken once: a second try (another tab, a colleague) goes back to the queue with a notice.
    again = await post_form(https_client, action.group(1) + "/uebernehmen", {"_csrf": csrf_of(queue.text)})
    assert again.status_code == 303


async def test_the_lead_filters_pages_exports_and_sees_the_workload(
    https_client: Client,
    demo_directory: DemoDirectory,
    identity_clock: FakeClock,
    complaints_clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("complaints.pages.office.PAGE_SIZE", 2)
    made = []
    for category in ("traffic_policing", "other", "other"):
        made.append(
            (await submitted(https_client, category=category, complainant_kind="citizen", name=NAME))[0]
        )
        complaints_clock.advance(minutes=5)
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    first = await get_page(https_client, "/beschwerdestelle")
    assert_html(first)
    assert "Arbeitsstand der Beschwerdestelle" in first.text
    assert 'href="/beschwerdestelle?zustaendig=none">noch nicht zugewiesen</a>' in first.text
    assert listed(first.text) == made[:2]
    following = _NEXT.search(first.text)
    assert following
    second = await get_page(https_client, _unescape(following.group(1)))
    assert_html(second)
    assert listed(second.text) == made[2:]
    assert _NEXT.search(second.text) is None
    assert 'href="/beschwerdestelle">Zurück zur ersten Seite</a>' in second.text

    filtered = await get_page(https_client, "/beschwerdestelle?kategorie=other&status=received")
    assert listed(filtered.text) == made[1:3]
    export = re.search(r'<a href="(/beschwerdestelle/export\.csv[^"]*)" download>', filtered.text)
    assert export
    downloaded = await get_page(https_client, _unescape(export.group(1)))
    assert downloaded.status_code == 200
    rows = list(csv.reader(io.StringIO(downloaded.text.lstrip("\ufeff"))))
    assert [row[0] for row in rows[1:]] == made[1:3]
    assert NAME not in downloaded.text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=vergessen", "status"),
        ("kategorie=x", "kategorie"),
        ("zustaendig=jemand", "zustaendig"),
        ("frist=gestern", "frist"),
        # The German values of before: the pages take the API's codes only (docs/adr/0005).
        ("status=offen", "status"),
        ("status=erledigt", "status"),
        ("status=alle", "status"),
        ("zustaendig=ich", "zustaendig"),
        ("zustaendig=niemand", "zustaendig"),
        ("frist=ueberfaellig", "frist"),
        ("frist=bald", "frist"),
        ("frist=ruht", "frist"),
        ("eingang_von=32.11.2026", "eingang_von"),
        ("eingang_von=25.11.2026&eingang_bis=24.11.2026", "eingang_bis"),
        ("aktenzeichen=XY", "aktenzeichen"),
    ],
)
async def test_a_bad_filter_value_is_shown_on_the_form(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, query: str, field: str
) -> None:
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    shown = await get_page(https_client, f"/beschwerdestelle?{query}")
    assert_html(shown, 400)
    assert f'href="#f-{field}"' in shown.text
    assert_error_summary(shown.text)


async def test_the_queue_reads_the_api_s_codes_and_shows_the_choice_again(
    https_client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    lead = await auth_headers("complaints.lead")
    # A statement is asked of the unit concerned: the complaint names one.
    concerned = anonymous_payload(police_unit_id=str(demo_directory.unit("rev-dresden-nord").id))
    made: dict[str, str] = {}
    for name in ("withdrawn", "paused", "plain"):
        receipt = await https_client.post("/api/v1/public/complaints", json=concerned)
        reference = receipt.json()["reference"]
        [item] = (await https_client.get(OFFICE, headers=lead, params={"reference": reference})).json()
        made[name] = reference
        if name == "withdrawn":
            step = await https_client.post(f"{OFFICE}/{item['id']}/withdraw", headers=lead)
            assert step.status_code == 200, step.text
        if name == "paused":
            await https_client.post(f"{OFFICE}/{item['id']}/triage", json={"complete": True}, headers=lead)
            step = await https_client.post(
                f"{OFFICE}/{item['id']}/statement-requests", json={"question": QUESTION}, headers=lead
            )
            assert step.status_code == 201, step.text
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)

    async def shown(query: str, chosen: dict[str, str]) -> set[str]:
        queue = await get_page(https_client, f"/beschwerdestelle?{query}")
        assert_html(queue)
        for name, value in chosen.items():
            selected = re.search(rf'<select id="f-{name}" name="{name}".*?</select>', queue.text, flags=re.S)
            assert selected
            assert re.findall(r'<option value="([^"]*)" selected>', selected.group(0)) == [value], query
        if "Keine Beschwerden für diese Auswahl." in queue.text:
            return set()
        return set(listed(queue.text))

    open_ones = {made["paused"], made["plain"]}
    assert await shown("", {"status": "open"}) == open_ones
    assert await shown("status=open", {"status": "open"}) == open_ones
    assert await shown("status=done", {"status": "done"}) == {made["withdrawn"]}
    assert await shown("status=all", {"status": "all"}) == set(made.values())
    assert await shown("status=withdrawn", {"status": "withdrawn"}) == {made["withdrawn"]}
    assert await shown("frist=paused", {"frist": "paused", "status": "open"}) == {made["paused"]}
    assert await shown("status=all&zustaendig=none", {"zustaendig": "none"}) == set(made.values())
    assert await shown("zustaendig=me", {"zustaendig": "me"}) == set()


async def test_a_broken_page_link_leads_back_to_the_first_page(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    shown = await get_page(https_client, "/beschwerdestelle?frist=overdue&nach=kaputt")
    assert_html(shown, 400)
    assert "Dieser Seitenverweis ist nicht gültig." in shown.text
    assert 'href="/beschwerdestelle?frist=overdue">Zurück zur ersten Seite</a>' in shown.text


async def test_a_unit_lists_its_statement_requests_with_filters_and_pages(
    https_client: Client,
    auth_headers: AuthHeaders,
    demo_directory: DemoDirectory,
    identity_clock: FakeClock,
    complaints_clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("complaints.pages.statements.PAGE_SIZE", 2)
    lead = await auth_headers("complaints.lead")
    dresden = str(demo_directory.unit("rev-dresden-nord").id)
    made = []
    for _ in range(3):
        receipt = await https_client.post(
            "/api/v1/public/complaints", json=anonymous_payload(police_unit_id=dresden)
        )
        reference = receipt.json()["reference"]
        [item] = (await https_client.get(OFFICE, headers=lead, params={"reference": reference})).json()
        await https_client.post(f"{OFFICE}/{item['id']}/triage", json={"complete": True}, headers=lead)
        await https_client.post(
            f"{OFFICE}/{item['id']}/statement-requests", json={"question": QUESTION}, headers=lead
        )
        made.append(reference)
        complaints_clock.advance(days=1)
    await sign_in(https_client, demo_directory, "supervisor.dresden", identity_clock)
    first = await get_page(https_client, "/stellungnahmen")
    assert_html(first)
    assert listed(first.text) == made[:2]
    following = _NEXT.search(first.text)
    assert following
    second = await get_page(https_client, _unescape(following.group(1)))
    assert listed(second.text) == made[2:]
    none_answered = await get_page(https_client, "/stellungnahmen?status=answered")
    assert "Keine Anfragen für diese Auswahl." in none_answered.text
    complaints_clock.advance(days=30)
    overdue = await get_page(https_client, "/stellungnahmen?frist=overdue")
    assert len(listed(overdue.text)) == 2
    everything = await get_page(https_client, "/stellungnahmen?status=all&frist=overdue")
    assert '<option value="all" selected>' in everything.text
    assert '<option value="overdue" selected>' in everything.text
    assert len(listed(everything.text)) == 2
    # Codes only, and of the deadline filters only "overdue": a statement's deadline never pauses.
    for query in ("status=irgendwas", "status=offen", "frist=ueberfaellig", "frist=paused"):
        refused = await get_page(https_client, f"/stellungnahmen?{query}")
        assert_html(refused, 400)
        assert f'href="#f-{query.split("=")[0]}"' in refused.text, query
    assert_html(await get_page(https_client, "/stellungnahmen?nach=kaputt"), 400)


@pytest.fixture
def statements_run() -> Iterator[list[str]]:
    seen: list[str] = []

    def capture(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(Engine, "before_cursor_execute", capture)
    yield seen
    event.remove(Engine, "before_cursor_execute", capture)


async def test_the_queue_page_costs_the_same_statements_for_3_and_30_rows(
    https_client: Client,
    demo_directory: DemoDirectory,
    identity_clock: FakeClock,
    statements_run: list[str],
) -> None:
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    counts = []
    made = 0
    for wanted in (3, 30):
        while made < wanted:
            response = await https_client.post("/api/v1/public/complaints", json=anonymous_payload())
            assert response.status_code == 201
            made += 1
        await get_page(https_client, "/beschwerdestelle")
        statements_run.clear()
        shown = await get_page(https_client, "/beschwerdestelle")
        assert len(listed(shown.text)) == wanted
        counts.append(len(statements_run))
    assert counts[0] == counts[1]
