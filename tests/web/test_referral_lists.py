"""The referral list pages: recognition fields (audited once per page), filters with readable errors,
paging, the case number search by POST, and the state office's read-only sight of routed cases."""

from __future__ import annotations

import json
import re

from litestar import Litestar
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.audit.models import AuditEvent
from referral_service.identity.roles import Role
from tests.identity.support import DemoDirectory, FakeClock
from tests.referrals.support import VICTIM_NAME
from tests.web.referral_forms import CASE_LINK, refer
from tests.web.support import Client, assert_html, csrf_of, get_page, post_form, sign_in, text_of

CASE_NUMBER = "DD-1234/26-K"


async def _list_reads(engine: AsyncEngine) -> list[dict[str, object]]:
    query = select(AuditEvent.details).where(AuditEvent.action == "referral:referral:list_read")
    async with engine.connect() as connection:
        return [json.loads(row[0]) for row in (await connection.execute(query)).all()]


async def test_the_police_list_names_the_case_number_and_audits_the_page_once(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    await refer(https_client, identity_clock, case_number=CASE_NUMBER)
    await refer(https_client, identity_clock, case_number="DD-9999/26-Z", offence_category="robbery")
    listing = await get_page(https_client, "/polizei")
    assert_html(listing)
    shown = text_of(listing.text)
    assert CASE_NUMBER in shown
    assert "DD-9999/26-Z" in shown
    assert VICTIM_NAME not in listing.text
    [read] = await _list_reads(engine)
    assert read["fields"] == ["case_number"]
    assert len(read["referrals"]) == 2  # type: ignore[arg-type]
    filtered = await get_page(https_client, "/polizei?delikt=robbery")
    assert "DD-9999/26-Z" in filtered.text
    assert CASE_NUMBER not in filtered.text
    # Link texts differ row by row (WCAG 2.4.4).
    links = re.findall(
        r'href="/polizei/vermittlungen/[0-9a-f-]{36}" class="case-link" aria-label="([^"]+)">',
        listing.text,
    )
    assert len(links) == len(set(links)) == 2


async def test_a_bad_filter_or_cursor_is_a_readable_page_not_a_500(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, routed, "branchlead.dresden", identity_clock)
    for query in (
        "status=x",
        "frist=gestern",
        "von=2026-13-01",
        "von=2026-03-02&bis=2026-03-01",
        "kennung=abc",
        "zustaendig=jemand",
        "nach=%25%25",
        "aussenstelle=1",
    ):
        page = await get_page(https_client, f"/weisser-ring?{query}")
        assert_html(page, 422)
        assert 'class="error-summary"' in page.text, query


async def test_paging_and_the_case_number_search_by_post(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, referral_clock: FakeClock
) -> None:
    await sign_in(https_client, routed, Role.POLICE_SUPERVISOR, identity_clock)
    for number in range(3):
        await refer(https_client, identity_clock, case_number=f"DD-{number:04d}/26-K")
        referral_clock.advance(minutes=1)
    listing = await get_page(https_client, "/polizei")
    token = csrf_of(listing.text)
    found = await post_form(
        https_client, "/polizei/suche", {"_csrf": token, "vorgangsnummer": "dd-0001/26-k"}
    )
    assert_html(found)
    result = found.text.split('id="found-title"')[1].split("</section>")[0]
    assert "DD-0001/26-K" in result
    assert "DD-0002/26-K" not in result
    assert "0001" not in str(found.url)
    short = await post_form(https_client, "/polizei/suche", {"_csrf": token, "vorgangsnummer": "x"})
    assert_html(short, 422)


async def test_the_state_office_sees_what_it_routed_read_only(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    await refer(https_client, identity_clock, postcode="99999")
    https_client.cookies.clear()
    await sign_in(https_client, routed, Role.WR_STATE_OFFICE, identity_clock)
    queue = await get_page(https_client, "/weisser-ring/landesbuero")
    assert "keine Außenstelle für die Postleitzahl" in text_of(queue.text)
    [case_id] = CASE_LINK.findall(queue.text)
    case = await get_page(https_client, f"/weisser-ring/faelle/{case_id}")
    await post_form(
        https_client,
        f"/weisser-ring/faelle/{case_id}/weiterleiten",
        {"_csrf": csrf_of(case.text), "branch_id": str(routed.unit("wr-dresden").id)},
    )
    assert CASE_LINK.findall((await get_page(https_client, "/weisser-ring/landesbuero")).text) == []
    routed_view = await get_page(https_client, "/weisser-ring/landesbuero?ansicht=vermittelt")
    assert_html(routed_view)
    assert CASE_LINK.findall(routed_view.text) == [case_id]
    read_only = await get_page(https_client, f"/weisser-ring/faelle/{case_id}")
    assert_html(read_only)
    assert "nur noch lesend" in read_only.text
    assert "<form" not in read_only.text.split("<main", 1)[1].split("</main>")[0].replace(
        'method="post" action="/abmelden"', ""
    )
    assert VICTIM_NAME not in read_only.text
    again = await post_form(
        https_client,
        f"/weisser-ring/faelle/{case_id}/weiterleiten",
        {"_csrf": csrf_of(case.text), "branch_id": str(routed.unit("wr-leipzig").id)},
    )
    assert again.status_code == 404


async def test_a_list_page_costs_the_same_statements_for_3_rows_as_for_30(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, identity_app: Litestar
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    engine: AsyncEngine = identity_app.state.engine
    statements: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "user_sessions" not in statement and "api_tokens" not in statement:
            statements.append(statement)

    async def count() -> int:
        statements.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        try:
            assert_html(await get_page(https_client, "/polizei"))
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", capture)
        return len(statements)

    # With a case number each: the page decrypts it for every row (one key query for all rows).
    for number in range(3):
        await refer(https_client, identity_clock, case_number=f"DD-{number:04d}/26-K")
    few = await count()
    for number in range(3, 30):
        await refer(https_client, identity_clock, case_number=f"DD-{number:04d}/26-K")
    many = await count()
    assert many == few, "\n".join(statements)
