"""Historical entry: the lead records a complaint of an earlier year with its received, decided and closed
dates; everybody else, future dates, dates before the office opened and dates out of order are refused."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from complaints.config import ComplaintsConfig
from complaints.service.backdating import BEFORE_OFFICE_OPENED, date_errors
from referral_service.settings import SettingsError
from tests.complaints.support import OFFICE, Client, audit_events, count_rows, named_payload
from tests.identity.support import AuthHeaders

RECEIVED = "2017-03-01T09:00:00+01:00"
DECIDED = "2017-03-20T10:00:00+01:00"
CLOSED = "2017-03-21T11:00:00+01:00"


def errors_of(response: Any) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return [(error["field"], error["code"]) for error in response.json()["errors"]]


def test_the_office_opening_date_is_configurable_and_refused_when_malformed() -> None:
    assert ComplaintsConfig.from_environ({}).office_opened_on == dt.date(2016, 1, 5)
    later = ComplaintsConfig.from_environ({"REFERRAL_COMPLAINT_OFFICE_OPENED_ON": "2018-07-01"})
    assert later.office_opened_on == dt.date(2018, 7, 1)
    with pytest.raises(SettingsError, match="REFERRAL_COMPLAINT_OFFICE_OPENED_ON"):
        ComplaintsConfig.from_environ({"REFERRAL_COMPLAINT_OFFICE_OPENED_ON": "5.1.2016"})
    # The office's calendar decides: 00:30 in Dresden on the opening day is 23:30 UTC the day before.
    config = dataclasses.replace(later, clock=lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    opening = dt.datetime(2018, 6, 30, 22, 30, tzinfo=dt.UTC)
    assert date_errors(config, "received_at", opening) == []
    assert [e.code for e in date_errors(config, "received_at", opening - dt.timedelta(hours=1))] == [
        BEFORE_OFFICE_OPENED
    ]


async def test_the_lead_enters_a_complaint_of_2017_and_nobody_else_or_nothing_wrong_is_stored(
    client: Client, auth_headers: AuthHeaders, engine: AsyncEngine
) -> None:
    lead = await auth_headers("complaints.lead")
    handler = await auth_headers("complaints.handler")

    def entry(received_at: str) -> dict[str, Any]:
        return named_payload(channel="letter", incident_date="2017-02-20", received_at=received_at)

    # The handler may enter complaints, but not into an earlier year.
    refused = await client.post(OFFICE, json=entry(RECEIVED), headers=handler)
    assert (refused.status_code, refused.json()["code"]) == (403, "complaint.lead_only")
    # Tomorrow (the clock stands at 23 November 2026), the day before the office opened, no offset.
    assert errors_of(await client.post(OFFICE, json=entry("2026-11-24T09:00:00+01:00"), headers=lead)) == [
        ("received_at", "complaint.date_in_future")
    ]
    assert errors_of(await client.post(OFFICE, json=entry("2016-01-04T12:00:00+01:00"), headers=lead)) == [
        ("received_at", "complaint.before_office_opened")
    ]
    assert (await client.post(OFFICE, json=entry("2017-03-01T09:00:00"), headers=lead)).status_code == 422
    assert (await count_rows(engine, "complaints"))["complaints"] == 0

    entered = await client.post(OFFICE, json=entry(RECEIVED), headers=lead)
    assert entered.status_code == 201, entered.text
    assert entered.json()["reference"].startswith("BS-2017-")
    [listed] = (await client.get(OFFICE, headers=lead)).json()
    complaint = f"{OFFICE}/{listed['id']}"
    assert dt.datetime.fromisoformat(listed["received_at"]) == dt.datetime.fromisoformat(RECEIVED)
    # The answer deadline runs from receipt: long past, so the complaint is overdue at once.
    assert listed["deadline"].startswith("2017-03-")
    assert listed["overdue"] is True

    assert (
        await client.post(f"{complaint}/triage", json={"complete": True}, headers=lead)
    ).status_code == 200
    decision = {"outcome": "partly_justified", "final": True}
    handler_draft = await client.post(
        f"{complaint}/decision", json={"outcome": "justified", "decided_at": DECIDED}, headers=handler
    )
    assert errors_of(handler_draft) == [("decided_at", "value.invalid")]
    before_receipt = {**decision, "decided_at": "2017-02-28T10:00:00+01:00"}
    assert errors_of(await client.post(f"{complaint}/decision", json=before_receipt, headers=lead)) == [
        ("decided_at", "complaint.date_order")
    ]
    decided = await client.post(
        f"{complaint}/decision", json={**decision, "decided_at": DECIDED}, headers=lead
    )
    assert decided.status_code == 200, decided.text
    before_decision = {"closed_at": "2017-03-19T10:00:00+01:00"}
    assert errors_of(await client.post(f"{complaint}/close", json=before_decision, headers=lead)) == [
        ("closed_at", "complaint.date_order")
    ]
    closed = await client.post(f"{complaint}/close", json={"closed_at": CLOSED}, headers=lead)
    assert closed.json()["status"] == "closed", closed.text

    shown = (await client.get(complaint, headers=lead)).json()
    assert [
        dt.datetime.fromisoformat(shown[name]) for name in ("received_at", "decided_at", "closed_at")
    ] == [dt.datetime.fromisoformat(moment) for moment in (RECEIVED, DECIDED, CLOSED)]
    assert shown["outcome"] == "partly_justified"
    # The complainant was answered in 2017, by letter: no e-mail about it now.
    assert (await count_rows(engine, "notifications"))["notifications"] == 0

    # Each step's event says that it was back-dated and which date, never the date itself; refused
    # attempts left no event behind.
    events = {
        event.action: json.loads(event.details or "{}")
        for event in await audit_events(engine, "complaint:complaint:")
        if event.action.endswith((":create", ":decide", ":close"))
    }
    assert {action: (d["backdated"], d["backdated_fields"]) for action, d in events.items()} == {
        "complaint:complaint:create": (True, ["received_at"]),
        "complaint:complaint:decide": (True, ["decided_at"]),
        "complaint:complaint:close": (True, ["closed_at"]),
    }
    assert "2017" not in json.dumps(events)
    assert (await count_rows(engine, "complaints"))["complaints"] == 1
