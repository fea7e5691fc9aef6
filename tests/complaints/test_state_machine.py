"""The complaint workflow as a state machine: a final decision closes every way but `close`, and no
sequence of office and police-unit actions, driven at random through the API on both engines, leaves a
complaint or the annual report's counts inconsistent.

What "consistent" means here, from the code (`complaints.domain`, `complaints.service.office`,
`complaints.reports`):

- status and outcome: a complaint has an outcome (with `decided_at` and the deciding lead) exactly when
  its status is `decision` or `closed` - the only states a decision leads to; `no_decision_reason` is
  set exactly for the outcome `no_decision`; `forward_reason` exactly for `forwarded`;
- timestamps: `closed_at` is set exactly in the final states (closed, forwarded, withdrawn); receipt
  <= decision <= closing <= last change;
- statements: a complaint still being worked on is `statement_requested` exactly when a statement
  request is unanswered;
- history: the transition rows are steps of the transition table and, in time order, lead from
  `received` to the current status;
- the annual report: every complaint counts once among its results: per outcome when in `decision` or
  `closed`, else forwarded, withdrawn or still in progress.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.domain import TERMINAL_STATES, TRANSITIONS, ComplaintStatus, Outcome
from complaints.models import Complaint, ComplaintTransition, StatementRequest
from complaints.reports import FORWARDED, IN_PROGRESS, WITHDRAWN, year_counts
from referral_service.reporting.periods import Period
from referral_service.reporting.scope import ReportScope, ScopeKind
from tests.complaints.support import OFFICE, QUESTION, STATEMENTS, Client, anonymous_payload, submit
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock
from tests.state_machines import Bridge, run_machine

S = ComplaintStatus
DECIDED = frozenset({S.DECISION, S.CLOSED})
STATE = ReportScope(kind=ScopeKind.STATE, code="sn", name="Sachsen", path=None, rows=())
# The report's cut-off, after anything the test does.
LATER = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


async def _decided_complaint(client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory) -> str:
    unit = str(demo_directory.unit("rev-dresden-nord").id)
    receipt = await submit(client, anonymous_payload(police_unit_id=unit))
    lead = await auth_headers("complaints.lead")
    found = next(
        item["id"]
        for item in (await client.get(OFFICE, headers=lead)).json()
        if item["reference"] == receipt["reference"]
    )
    assert (await client.post(f"{OFFICE}/{found}/triage", json={}, headers=lead)).status_code == 200
    decided = await client.post(
        f"{OFFICE}/{found}/decision", json={"outcome": "justified", "final": True}, headers=lead
    )
    assert decided.json()["status"] == "decision", decided.text
    return str(found)


async def test_after_a_final_decision_neither_withdraw_nor_forward_is_possible(
    client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, engine: AsyncEngine
) -> None:
    complaint = await _decided_complaint(client, auth_headers, demo_directory)
    lead = await auth_headers("complaints.lead")
    for response in (
        await client.post(f"{OFFICE}/{complaint}/withdraw", headers=lead),
        await client.post(f"{OFFICE}/{complaint}/forward", json={"reason": "to_prosecutor"}, headers=lead),
    ):
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "complaint.invalid_transition"
        assert response.json()["current_status"] == "decision"
    shown = (await client.get(f"{OFFICE}/{complaint}", headers=lead)).json()
    assert (shown["status"], shown["outcome"]) == ("decision", "justified")
    # The way on is closing it; reopening is a follow-up complaint.
    closed = await client.post(f"{OFFICE}/{complaint}/close", headers=lead)
    assert closed.json()["status"] == "closed"
    async with AsyncSession(engine) as session:
        counts = await year_counts(session, Period(2026), STATE, cutoff=LATER)
    assert (counts.total, counts.decided, counts.within_one_month) == (1, 1, 1)
    assert +counts.results == {"justified": 1}


# --- the property test ------------------------------------------------------------------------------


def _chain_ends_at(rows: list[ComplaintTransition]) -> str:
    """Follow the transition rows from `received` in time order; rows of one instant (a triage started
    and completed in one request) are ordered by how they link."""
    current, left = S.RECEIVED.value, sorted(rows, key=lambda row: row.at)
    while left:
        earliest = left[0].at
        step = next((row for row in left if row.at == earliest and row.from_status == current), None)
        assert step is not None, f"no step from {current} at {earliest}"
        left.remove(step)
        current = step.to_status
    return current


async def check_consistency(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session:
        complaints = list((await session.exec(select(Complaint))).all())
        transitions = list((await session.exec(select(ComplaintTransition))).all())
        requests = list((await session.exec(select(StatementRequest))).all())
        period = Period(2026)
        counts = await year_counts(session, period, STATE, cutoff=LATER)
    table = {(start.value, action.value): end.value for (start, action), end in TRANSITIONS.items()}
    outstanding = Counter(r.complaint_id for r in requests if r.answered_at is None)
    for c in complaints:
        status = S(c.status)
        assert (c.outcome is not None) is (status in DECIDED), (status, c.outcome)
        assert (c.decided_at is not None) is (status in DECIDED), (status, c.decided_at)
        assert (c.decided_by_id is not None) is (status in DECIDED)
        assert (c.no_decision_reason is not None) is (c.outcome == Outcome.NO_DECISION.value)
        assert (c.forward_reason is not None) is (status is S.FORWARDED)
        assert (c.closed_at is not None) is (status in TERMINAL_STATES), (status, c.closed_at)
        if status in DECIDED:
            assert c.draft_outcome is None
        moments = [m for m in (c.received_at, c.decided_at, c.closed_at) if m is not None]
        assert moments == sorted(moments), (status, moments)
        assert moments[-1] <= c.updated_at, (status, moments)
        if status not in {S.FORWARDED, S.WITHDRAWN}:
            assert (outstanding[c.id] > 0) is (status is S.STATEMENT_REQUESTED), (status, outstanding[c.id])
        rows = [row for row in transitions if row.complaint_id == c.id]
        assert all(table.get((row.from_status, row.action)) == row.to_status for row in rows)
        assert _chain_ends_at(rows) == c.status
    statuses = Counter(S(c.status) for c in complaints)
    assert counts.total == len(complaints) == sum(counts.results.values())
    assert {o: n for o, n in counts.results.items() if n and o in set(Outcome)} == dict(
        Counter(c.outcome for c in complaints if S(c.status) in DECIDED)
    )
    assert counts.results[FORWARDED] == statuses[S.FORWARDED]
    assert counts.results[WITHDRAWN] == statuses[S.WITHDRAWN]
    assert counts.results[IN_PROGRESS] == sum(statuses[s] for s in S if s not in TERMINAL_STATES | DECIDED)


COMPLAINT_TABLES = (
    "complaint_transitions",
    "complaint_messages",
    "complaint_statement_requests",
    "complaint_attachments",
    "complainant_sessions",
    "complaint_categories",
    "complaints",
)


async def forget_complaints(engine: AsyncEngine) -> None:
    """Each example starts without complaints, so that a failing example replays alike when shrunk."""
    from referral_service.db import metadata

    async with engine.begin() as connection:
        for table in COMPLAINT_TABLES:
            await connection.execute(metadata.tables[table].delete())


OUTCOMES = st.sampled_from(list(Outcome))
ALLOWED = {200, 201, 409}


def complaint_machine(
    bridge: Bridge,
    client: Client,
    engine: AsyncEngine,
    headers: dict[str, dict[str, str]],
    unit_id: str,
    handler_id: str,
    clock: FakeClock,
) -> type[RuleBasedStateMachine]:
    lead, handler, supervisor = headers["lead"], headers["handler"], headers["supervisor"]
    start = clock.current

    class ComplaintWorkflow(RuleBasedStateMachine):
        complaints = Bundle("complaints")

        def post(self, path: str, who: dict[str, str], body: dict[str, Any] | None = None) -> int:
            # Every step happens a little later than the one before, as in an office.
            clock.advance(minutes=7)
            response = bridge.run(client.post(path, json=body, headers=who))
            assert response.status_code in ALLOWED, (path, response.status_code, response.text)
            if response.status_code == 409:
                assert response.json()["code"] == "complaint.invalid_transition", response.text
            return response.status_code

        @initialize(target=complaints)
        def first(self) -> str:
            clock.current = start
            return self.receive()

        def receive(self) -> str:
            receipt = bridge.run(submit(client, anonymous_payload(police_unit_id=unit_id)))
            listed = bridge.run(client.get(OFFICE, headers=lead, params={"reference": receipt["reference"]}))
            found = str(listed.json()[0]["id"])
            self.post(f"{OFFICE}/{found}/assign", lead, {"assignee_id": handler_id})
            return found

        # Biased towards the steps that move a complaint on, so that short runs reach the decision.
        @rule(complaint=complaints, complete=st.sampled_from([True, True, False]))
        def triage(self, complaint: str, complete: bool) -> None:
            self.post(f"{OFFICE}/{complaint}/triage", handler, {"complete": complete})

        @rule(complaint=complaints)
        def request_statement(self, complaint: str) -> None:
            self.post(f"{OFFICE}/{complaint}/statement-requests", handler, {"question": QUESTION})

        @rule(data=st.data())
        def answer_statement(self, data: st.DataObject) -> None:
            listed = bridge.run(
                client.get(STATEMENTS, headers=supervisor, params={"status": "open", "limit": 200})
            )
            open_requests = [item["id"] for item in listed.json()]
            if open_requests:
                chosen = data.draw(st.sampled_from(open_requests))
                self.post(f"{STATEMENTS}/{chosen}/statement", supervisor, {"answer": "Stellungnahme"})

        @rule(complaint=complaints)
        def resume(self, complaint: str) -> None:
            self.post(f"{OFFICE}/{complaint}/resume", handler)

        @rule(complaint=complaints, outcome=OUTCOMES, final=st.sampled_from([True, True, False]))
        def decide(self, complaint: str, outcome: Outcome, final: bool) -> None:
            body: dict[str, Any] = {"outcome": outcome.value, "final": final}
            if outcome is Outcome.NO_DECISION:
                body["no_decision_reason"] = "facts_not_established"
            self.post(f"{OFFICE}/{complaint}/decision", lead if final else handler, body)

        @rule(complaint=complaints)
        def close(self, complaint: str) -> None:
            self.post(f"{OFFICE}/{complaint}/close", lead)

        @rule(complaint=complaints, exit=st.sampled_from(["not_competent", "to_prosecutor", "withdraw"]))
        def end_early(self, complaint: str, exit: str) -> None:
            """A side exit: forwarded (for one of its reasons) or withdrawn."""
            if exit == "withdraw":
                self.post(f"{OFFICE}/{complaint}/withdraw", handler)
            else:
                self.post(f"{OFFICE}/{complaint}/forward", handler, {"reason": exit})

        @rule(complaint=complaints, outcome=OUTCOMES)
        def next_sensible_step(self, complaint: str, outcome: Outcome) -> None:
            """What the office would do next: random runs reach decisions and beyond this way."""
            status = bridge.run(client.get(f"{OFFICE}/{complaint}", headers=lead)).json()["status"]
            if status in {S.RECEIVED, S.TRIAGE}:
                self.triage(complaint, True)
            elif status in {S.IN_PROGRESS, S.STATEMENT_RECEIVED}:
                self.decide(complaint, outcome, True)
            elif status == S.DECISION:
                self.close(complaint)

        @invariant()
        def consistent(self) -> None:
            bridge.run(check_consistency(engine))

        def teardown(self) -> None:
            bridge.run(forget_complaints(engine))

    return ComplaintWorkflow


async def test_no_sequence_of_actions_leaves_a_complaint_inconsistent(
    client: Client,
    auth_headers: AuthHeaders,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    complaints_clock: FakeClock,
) -> None:
    headers = {
        "lead": await auth_headers("complaints.lead"),
        "handler": await auth_headers("complaints.handler"),
        "supervisor": await auth_headers("supervisor.dresden"),
    }
    machine = complaint_machine(
        Bridge(asyncio.get_running_loop()),
        client,
        engine,
        headers,
        str(demo_directory.unit("rev-dresden-nord").id),
        str(demo_directory.account("complaints.handler").user_id),
        complaints_clock,
    )
    # One database for all examples: each example adds complaints of its own, and the invariants hold
    # for every complaint in it, earlier examples' included.
    await run_machine(machine)
