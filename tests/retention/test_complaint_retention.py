"""Complaint retention: three years after closure the complaint, its messages, statement
requests and attachments lose their personal data (one key shreds them all), the complainant's access
ends, statistics stay, each erasure is audited; on both engines."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.models import (
    ComplainantSession,
    Complaint,
    ComplaintAttachment,
    ComplaintMessage,
    StatementRequest,
)
from complaints.retention import ERASED_ACCESS_CODE_HASH, ComplaintRetention
from crypto import KeyDestroyedError
from referral_service.audit.models import AuditEvent
from referral_service.domains import retention_providers
from referral_service.keys.service import CaseKeys
from referral_service.retention.providers import CaseStillOpenError
from referral_service.retention.runner import erase_on_request, run_retention
from referral_service.settings import Settings
from tests.complaints.support import (
    ANSWER,
    DESCRIPTION,
    FACTS,
    OFFICE,
    PUBLIC,
    QUESTION,
    REPLY,
    SECRET_VALUES,
    STATEMENTS,
    Client,
    assigned_to_handler,
    complainant_headers,
    named_payload,
    submit,
)
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock
from tests.plaintext_scan import assert_nowhere_stored

PERIOD = dt.timedelta(days=1095)
DAY = dt.timedelta(days=1)
EVIDENCE = b"%PDF-1.4\n% Beweisfoto Loeschtest 8812\n"
MESSAGE = "Ich habe noch ein Video vom Einsatz, Frau Ørsted-Kallweit"


async def closed_complaint(
    client: Client, auth_headers: AuthHeaders, directory: DemoDirectory
) -> dict[str, Any]:
    """A named complaint with a message, an attachment, an answered statement request and a reply, closed."""
    station = directory.unit("rev-dresden-nord")
    receipt = await submit(client, named_payload(police_unit_id=str(station.id)))
    citizen = await complainant_headers(client, receipt["reference"], receipt["access_code"])
    assert (
        await client.post(f"{PUBLIC}/me/messages", json={"body": MESSAGE}, headers=citizen)
    ).status_code == 201
    upload = await client.post(
        f"{PUBLIC}/me/attachments",
        content=EVIDENCE,
        headers={
            **citizen,
            "Content-Type": "application/pdf",
            "Content-Disposition": 'attachment; filename="Kallweit.pdf"',
        },
    )
    assert upload.status_code == 201, upload.text
    complaint = await assigned_to_handler(client, auth_headers, directory, receipt["reference"])
    handler = await auth_headers("complaints.handler")
    await client.post(f"{OFFICE}/{complaint}/triage", json={"complete": True}, headers=handler)
    requested = await client.post(
        f"{OFFICE}/{complaint}/statement-requests",
        json={"question": QUESTION, "released_facts": FACTS},
        headers=handler,
    )
    assert requested.status_code == 201, requested.text
    supervisor = await auth_headers("supervisor.dresden")
    inbox = (await client.get(STATEMENTS, headers=supervisor)).json()
    request_id = next(r["id"] for r in inbox if r["complaint_reference"] == receipt["reference"])
    answered = await client.post(
        f"{STATEMENTS}/{request_id}/statement", json={"answer": ANSWER}, headers=supervisor
    )
    assert answered.status_code == 200, answered.text
    lead = await auth_headers("complaints.lead")
    decided = await client.post(
        f"{OFFICE}/{complaint}/decision",
        json={"outcome": "partly_justified", "reply": REPLY, "final": True, "disciplinary_proceedings": True},
        headers=lead,
    )
    assert decided.status_code == 200, decided.text
    assert (await client.post(f"{OFFICE}/{complaint}/close", headers=lead)).json()["status"] == "closed"
    return {**receipt, "id": complaint, "citizen": citizen}


async def rows_of(engine: AsyncEngine, model: type[Any], complaint_id: str) -> list[Any]:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        column = model.id if model is Complaint else model.complaint_id
        return list(
            (await session.execute(select(model).where(column == uuid.UUID(complaint_id)))).scalars().all()
        )


async def snapshot(engine: AsyncEngine) -> list[Any]:
    found = []
    async with engine.connect() as connection:
        for table in (
            "complaints",
            "complaint_messages",
            "complaint_statement_requests",
            "complaint_attachments",
            "complainant_sessions",
            "data_keys",
        ):
            found.append(list((await connection.execute(text(f"SELECT * FROM {table} ORDER BY id"))).all()))
        found.append((await connection.execute(text("SELECT count(*) FROM audit_events"))).scalar_one())
    return found


async def test_a_closed_complaint_is_erased_three_years_later_with_everything_it_holds(
    client: Client,
    auth_headers: AuthHeaders,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    app: Litestar,
    settings: Settings,
    clock: FakeClock,
) -> None:
    keys: CaseKeys = app.state.case_keys
    start = clock.now()
    old = await closed_complaint(client, auth_headers, demo_directory)
    clock.advance(days=400)
    recent = await closed_complaint(client, auth_headers, demo_directory)
    open_one = await submit(client, named_payload())
    before = (await rows_of(engine, Complaint, old["id"]))[0]

    run = await run_retention(engine, keys, retention_providers(settings), now=start + PERIOD + DAY)
    assert run.erased == {"referral": 0, "complaint": 1}

    erased = (await rows_of(engine, Complaint, old["id"]))[0]
    for column in (
        "reference",
        "status",
        "category",
        "channel",
        "complainant_kind",
        "from_police_staff",
        "outcome",
        "disciplinary_proceedings",
        "criminal_investigation",
        "received_at",
        "decided_at",
        "closed_at",
        "police_unit_id",
    ):
        assert getattr(erased, column) == getattr(before, column), column
    assert (erased.outcome, erased.disciplinary_proceedings) == ("partly_justified", True)
    assert all(
        getattr(erased, c) is None for c in ("name", "email", "phone", "address", "description", "place")
    )
    assert erased.access_code_hash == ERASED_ACCESS_CODE_HASH
    for model, columns in (
        (ComplaintMessage, ("body",)),
        (StatementRequest, ("question", "released_facts", "answer")),
        (ComplaintAttachment, ("filename", "content")),
    ):
        rows = await rows_of(engine, model, old["id"])
        assert rows, model
        for row in rows:
            assert all(getattr(row, c) is None for c in columns), model
    assert await rows_of(engine, ComplainantSession, old["id"]) == []
    async with AsyncSession(engine) as session:
        with pytest.raises(KeyDestroyedError):
            await keys.get(session, before.data_key_id)  # type: ignore[arg-type]
    await assert_nowhere_stored(engine, *SECRET_VALUES, MESSAGE, "Loeschtest 8812")

    # The complainant's code and session no longer open anything.
    assert (await client.get(f"{PUBLIC}/me", headers=old["citizen"])).status_code in {401, 404}
    reopened = await client.post(
        f"{PUBLIC}/session", json={"reference": old["reference"], "access_code": old["access_code"]}
    )
    assert reopened.status_code in {401, 403, 404}

    # Closed 400 days later, or still open: untouched and readable.
    lead = await auth_headers("complaints.lead")
    # The office sees the erased complaint as gone (410), not as an internal error.
    gone = await client.get(f"{OFFICE}/{old['id']}", headers=lead)
    assert gone.status_code == 410
    assert gone.json()["code"] == "case.erased"
    shown = await client.get(f"{OFFICE}/{recent['id']}", headers=lead)
    assert shown.status_code == 200
    assert shown.json()["description"] == DESCRIPTION
    assert (await rows_of(engine, ComplaintAttachment, recent["id"]))[0].content is not None
    assert (await client.get(f"{PUBLIC}/me", headers=recent["citizen"])).status_code == 200
    assert open_one["reference"]

    async with AsyncSession(engine) as session:
        stmt = select(AuditEvent).where(AuditEvent.action == "retention:complaint:erase")  # type: ignore[arg-type]
        events = list((await session.execute(stmt)).scalars().all())
    assert [(e.target_type, e.target_id) for e in events] == [("complaint", old["id"])]
    details = json.loads(events[0].details)
    assert details["reason"] == "retention_period"
    assert details["period_days"] == 1095
    assert details["key_destroyed"] is True
    assert {
        "complaints.name",
        "complaint_messages.body",
        "complaint_statement_requests.answer",
        "complaint_attachments.content",
    } <= set(details["fields"])
    assert (
        details["related_rows"] >= 4
    )  # two messages (the citizen's and the reply), a request, an attachment
    assert "access_code" in details["unlinked"]

    state = await snapshot(engine)
    again = await run_retention(engine, keys, retention_providers(settings), now=start + PERIOD + DAY)
    assert again.erased == {"referral": 0, "complaint": 0}
    assert await snapshot(engine) == state


async def test_an_open_complaint_is_not_erased_on_request_until_it_is_finished(
    client: Client,
    auth_headers: AuthHeaders,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    app: Litestar,
) -> None:
    receipt = await submit(client, named_payload())
    complaint = await assigned_to_handler(client, auth_headers, demo_directory, receipt["reference"])
    provider = ComplaintRetention(PERIOD)
    with pytest.raises(CaseStillOpenError):
        await erase_on_request(engine, app.state.case_keys, provider, uuid.UUID(complaint))
    withdrawn = await client.post(
        f"{OFFICE}/{complaint}/withdraw", headers=await auth_headers("complaints.lead")
    )
    assert withdrawn.status_code == 200, withdrawn.text
    erasure = await erase_on_request(engine, app.state.case_keys, provider, uuid.UUID(complaint))
    assert erasure is not None
    assert erasure.key_destroyed
    assert "complaints.description" in erasure.fields
    await assert_nowhere_stored(engine, *SECRET_VALUES)
