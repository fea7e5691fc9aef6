"""The office's queue with filters and paging, taking a free complaint, and the lead's workload, at
desktop and phone width with axe."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.pages import sign_in, sign_out
from tests.browser.support import AtBothWidths, LiveServer

pytestmark = pytest.mark.browser

COMPLAINT = {
    "complainant_kind": "anonymous",
    "category": "traffic_policing",
    "description": "Bei der Verkehrskontrolle an der Stauffenbergallee wurde ich unfreundlich behandelt.",
}


def test_a_handler_takes_a_free_complaint_and_the_lead_sees_the_workload(
    page: Any, server: LiveServer
) -> None:
    submitted = page.request.post(server.url("/api/v1/public/complaints"), data=COMPLAINT)
    assert submitted.status == 201, submitted.text()
    reference = submitted.json()["reference"]

    sign_in(page, server, "complaints.handler")
    page.goto(server.url("/beschwerdestelle?zustaendig=none"))
    walk = AtBothWidths(page, "complaint-lists-handler")
    take = page.get_by_role("button", name=f"Übernehmen {reference}")
    expect(take).to_be_visible()
    walk.check("free-complaints")
    take.click()
    expect(page.get_by_text("Sie haben die Beschwerde übernommen.")).to_be_visible()
    page.goto(server.url("/beschwerdestelle?zustaendig=me&frist=due_soon"))
    walk.check("mine-due-soon")
    sign_out(page)

    sign_in(page, server, "complaints.lead")
    lead = AtBothWidths(page, "complaint-lists-lead")
    expect(page.get_by_role("heading", name="Arbeitsstand der Beschwerdestelle")).to_be_visible()
    lead.check("queue-with-workload")
    # The nine filters stand side by side on a desktop (the lists' grid), not as one long column.
    status, assignee = (page.locator(f"#f-{name}").bounding_box() for name in ("status", "zustaendig"))
    assert status
    assert assignee
    assert status["y"] == assignee["y"]
    assert status["x"] < assignee["x"]
    page.get_by_role("link", name="Demo Sachbearbeitung Beschwerden").click()
    expect(page.get_by_role("link", name=reference)).to_be_visible()
    lead.check("queue-of-one-handler")
    page.get_by_label("Eingang ab").fill("32.11.2026")
    page.get_by_role("button", name="Anzeigen").click()
    expect(page.get_by_role("alert")).to_be_visible()
    lead.check("filter-error")
