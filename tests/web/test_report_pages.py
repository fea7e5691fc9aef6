"""Report pages: the reporting service's tables as HTML, with the period chosen by a GET form."""

from __future__ import annotations

from referral_service.identity.roles import Role
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.support import Client, assert_html, get_page, sign_in


async def test_the_state_office_reads_the_cooperation_report(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.WR_STATE_OFFICE, identity_clock)
    # The report is in the menu; the start page still leads to the routing queue.
    assert (await get_page(https_client, "/")).headers["location"] == "/weisser-ring/landesbuero"
    report = await get_page(https_client, "/berichte/kooperation?year=2026&quarter=4")
    assert_html(report)
    assert 'href="/berichte/kooperation"' in report.text
    assert "<table>" in report.text
    assert "<caption id=" in report.text
    assert 'href="/api/v1/reports/cooperation?year=2026&amp;quarter=4&amp;format=csv"' in report.text
    wrong = await get_page(https_client, "/berichte/kooperation?year=2026&directorate=pd-atlantis")
    assert_html(wrong, 422)
    assert 'id="f-directorate-error"' in wrong.text


async def test_the_complaints_lead_and_the_auditor_read_the_annual_report(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    assert_html(await get_page(https_client, "/berichte/beschwerden?year=2026"))
    assert_html(await get_page(https_client, "/berichte/kooperation?year=2026"), 403)
    https_client.cookies.clear()
    await sign_in(https_client, demo_directory, Role.AUDITOR, identity_clock)
    for path in ("/berichte/beschwerden", "/berichte/kooperation"):
        assert_html(await get_page(https_client, path))
    https_client.cookies.clear()
    await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    assert_html(await get_page(https_client, "/berichte/beschwerden"), 403)
