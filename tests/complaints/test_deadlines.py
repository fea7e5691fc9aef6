"""The office's answer deadline in Saxon working days, paused while a statement is outstanding, and the
overdue flags of the queue and of the police units' inbox.

Expected dates are counted by hand on the 2026 calendar: Buß- und Bettag (18 November) lies before,
Christmas (25/26 December) and New Year inside the windows used here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from complaints.config import ComplaintsConfig
from complaints.deadlines import answer_deadline, is_overdue, statement_deadline
from complaints.working_days import State
from tests.complaints.support import (
    ANSWER,
    OFFICE,
    QUESTION,
    STATEMENTS,
    Client,
    anonymous_payload,
    assigned_to_handler,
    submit,
)
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock

MONDAY = dt.date(2026, 11, 23)


def test_twenty_working_days_and_pauses_by_hand() -> None:
    config = ComplaintsConfig()
    assert answer_deadline(config, MONDAY, []) == dt.date(2026, 12, 21)
    # Requested Wednesday 25 November, answered Friday 4 December: seven working days do not count.
    assert answer_deadline(config, MONDAY, [(dt.date(2026, 11, 25), dt.date(2026, 12, 4))]) == dt.date(
        2026, 12, 31
    )
    # Still outstanding: no deadline.
    assert answer_deadline(config, MONDAY, [(dt.date(2026, 11, 25), None)]) is None
    # Office closures on 24 and 31 December push it past New Year (a holiday) into January.
    closed = dataclasses.replace(
        config, extra_closures=frozenset({dt.date(2026, 12, 24), dt.date(2026, 12, 31)})
    )
    assert answer_deadline(closed, MONDAY, [(dt.date(2026, 11, 25), dt.date(2026, 12, 4))]) == dt.date(
        2027, 1, 5
    )
    # The state is configurable: Bavaria keeps Buß- und Bettag as a working day, Saxony does not.
    tuesday_before = dt.date(2026, 11, 17)
    assert answer_deadline(
        dataclasses.replace(config, answer_deadline_working_days=1), tuesday_before, []
    ) == dt.date(2026, 11, 19)
    bavaria = dataclasses.replace(config, state=State.BAVARIA, answer_deadline_working_days=1)
    assert answer_deadline(bavaria, tuesday_before, []) == dt.date(2026, 11, 18)
    assert statement_deadline(config, MONDAY) == dt.date(2026, 12, 7)


def test_overdue_means_past_the_deadline_and_not_yet_decided() -> None:
    deadline = dt.date(2026, 12, 21)
    assert not is_overdue("in_progress", deadline, deadline)
    assert is_overdue("in_progress", deadline, deadline + dt.timedelta(days=1))
    assert not is_overdue("decision", deadline, deadline + dt.timedelta(days=30))
    assert not is_overdue("closed", deadline, deadline + dt.timedelta(days=30))
    assert not is_overdue("statement_requested", None, deadline + dt.timedelta(days=30))


async def test_the_queue_pauses_and_flags_deadlines(
    client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, complaints_clock: FakeClock
) -> None:
    station = str(demo_directory.unit("rev-dresden-nord").id)
    paused = await submit(client, anonymous_payload(police_unit_id=station))
    plain = await submit(client)
    complaint = await assigned_to_handler(client, auth_headers, demo_directory, paused["reference"])
    other = await assigned_to_handler(client, auth_headers, demo_directory, plain["reference"])
    handler = await auth_headers("complaints.handler")
    supervisor = await auth_headers("supervisor.dresden")

    async def queue(**params: str) -> dict[str, dict[str, object]]:
        listed = await client.get(OFFICE, headers=handler, params=params)
        return {item["reference"]: item for item in listed.json()}

    assert {ref: item["deadline"] for ref, item in (await queue()).items()} == {
        paused["reference"]: "2026-12-21",
        plain["reference"]: "2026-12-21",
    }

    await client.post(f"{OFFICE}/{complaint}/triage", json={}, headers=handler)
    complaints_clock.advance(days=2)  # Wednesday 25 November
    await client.post(
        f"{OFFICE}/{complaint}/statement-requests", json={"question": QUESTION}, headers=handler
    )
    assert (await queue())[paused["reference"]]["deadline"] is None

    complaints_clock.advance(days=9)  # Friday 4 December
    request = (await client.get(STATEMENTS, headers=supervisor)).json()[0]
    assert request["deadline"] == "2026-12-09"  # 10 working days after 25 November
    assert request["overdue"] is False
    await client.post(f"{STATEMENTS}/{request['id']}/statement", json={"answer": ANSWER}, headers=supervisor)
    assert (await queue())[paused["reference"]]["deadline"] == "2026-12-31"
    resumed = await client.post(f"{OFFICE}/{complaint}/resume", headers=handler)
    assert resumed.json()["status"] == "in_progress"

    complaints_clock.current = dt.datetime(2026, 12, 21, 22, 59, tzinfo=dt.UTC)  # 23:59 in Dresden
    assert not any(item["overdue"] for item in (await queue()).values())
    complaints_clock.advance(minutes=2)  # Tuesday 22 December in Dresden
    flags = {ref: item["overdue"] for ref, item in (await queue()).items()}
    assert flags == {paused["reference"]: False, plain["reference"]: True}
    assert list(await queue(overdue="true")) == [plain["reference"]]

    complaints_clock.current = dt.datetime(2027, 1, 1, 9, 0, tzinfo=dt.UTC)
    assert set(await queue(overdue="true")) == {paused["reference"], plain["reference"]}
    # A decision ends the clock: no longer overdue.
    lead = await auth_headers("complaints.lead")
    await client.post(f"{OFFICE}/{other}/triage", json={}, headers=handler)
    await client.post(
        f"{OFFICE}/{other}/decision", json={"outcome": "unjustified", "final": True}, headers=lead
    )
    assert list(await queue(overdue="true")) == [paused["reference"]]
    assert (await queue())[plain["reference"]]["overdue"] is False


async def test_an_unanswered_statement_request_becomes_overdue_for_the_unit(
    client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, complaints_clock: FakeClock
) -> None:
    receipt = await submit(
        client, anonymous_payload(police_unit_id=str(demo_directory.unit("rev-dresden-nord").id))
    )
    complaint = await assigned_to_handler(client, auth_headers, demo_directory, receipt["reference"])
    handler = await auth_headers("complaints.handler")
    await client.post(f"{OFFICE}/{complaint}/triage", json={}, headers=handler)
    past = await client.post(
        f"{OFFICE}/{complaint}/statement-requests",
        json={"question": QUESTION, "deadline": "2026-11-23"},
        headers=handler,
    )
    assert (past.status_code, past.json()["code"]) == (422, "request.validation")
    assert [(e["field"], e["code"]) for e in past.json()["errors"]] == [
        ("deadline", "complaint.deadline_not_after_today")
    ]
    await client.post(
        f"{OFFICE}/{complaint}/statement-requests",
        json={"question": QUESTION, "deadline": "2026-11-27"},
        headers=handler,
    )
    supervisor = await auth_headers("supervisor.dresden")
    complaints_clock.advance(days=4)  # Friday 27 November, the deadline itself
    assert (await client.get(STATEMENTS, headers=supervisor)).json()[0]["overdue"] is False
    complaints_clock.advance(days=3)  # Monday 30 November
    assert (await client.get(STATEMENTS, headers=supervisor)).json()[0]["overdue"] is True
    assert [
        r["id"]
        for r in (await client.get(STATEMENTS, headers=supervisor, params={"open_only": "true"})).json()
    ]
    shown = (await client.get(f"{OFFICE}/{complaint}", headers=handler)).json()
    assert shown["statement_requests"][0]["overdue"] is True
    assert shown["deadline"] is None  # the office's own clock is paused meanwhile
