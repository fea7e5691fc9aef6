"""Statement requests ("Stellungnahmen"): asked by the office, answered by the police unit concerned.

Requesting one pauses the office's answer deadline; the last outstanding answer moves the complaint to
`statement_received` and lets the clock run again. The unit sees only what it needs (see `views`); the
complainant's identity is released to the unit of one request only after the lead approves it.
"""

from __future__ import annotations

import datetime as dt
import uuid

from complaints import notifications, repository, schemas
from complaints.audit_actions import ComplaintAuditAction
from complaints.deadlines import statement_deadline
from complaints.domain import ComplaintAction, ComplaintStatus, StatementRequestState
from complaints.errors import (
    InvalidTransitionError,
    StatementAlreadyAnsweredError,
    StatementRequestNotFoundError,
    UnknownPoliceUnitError,
)
from complaints.models import StatementRequest
from complaints.service.common import ComplaintContext, audit, refresh_deadline, transition
from complaints.service.office import load
from complaints.service.views import unit_request_summary, unit_request_view
from referral_service import listing
from referral_service.keys.fields import seal
from referral_service.validation import FieldError, RequestValidationError

UNIT_REQUIRED = "complaint.unit_required"
DEADLINE_NOT_AFTER_TODAY = "complaint.deadline_not_after_today"


def deadline_errors(deadline: dt.date | None, today: dt.date) -> list[FieldError]:
    """A statement request's own deadline must leave the unit at least a day (pure, for the page too)."""
    if deadline is not None and deadline <= today:
        return [FieldError("deadline", DEADLINE_NOT_AFTER_TODAY, "The deadline must lie after today.")]
    return []


async def request_statement(
    ctx: ComplaintContext,
    complaint_id: uuid.UUID,
    data: schemas.StatementRequestCreate,
) -> StatementRequest:
    complaint = await load(ctx, complaint_id, for_update=True)
    unit_id = data.unit_id or complaint.police_unit_id
    today = ctx.config.today()
    errors = deadline_errors(data.deadline, today)
    if unit_id is None or errors:
        if unit_id is None:
            errors.insert(
                0,
                FieldError(
                    "unit_id", UNIT_REQUIRED, "Name the police unit to ask; the complaint names none."
                ),
            )
        raise RequestValidationError(errors)
    if await repository.police_unit(ctx.session, unit_id) is None:
        raise UnknownPoliceUnitError("Statements can be requested from police stations and directorates.")
    await transition(
        ctx,
        complaint,
        ComplaintAction.REQUEST_STATEMENT,
        details={"unit_id": str(unit_id)},
    )
    key = await ctx.key_of(complaint)
    request = StatementRequest(
        complaint_id=complaint.id,
        unit_id=unit_id,
        deadline_on=data.deadline or statement_deadline(ctx.config, today),
        requested_on=today,
        requested_at=ctx.config.now(),
        requested_by_id=ctx.staff.user_id,
    )
    seal(request, key, question=data.question, released_facts=data.released_facts)
    await repository.add(ctx.session, request)
    await refresh_deadline(ctx, complaint)
    await audit(
        ctx,
        action=ComplaintAuditAction.STATEMENT_REQUEST_CREATE,
        actor=ctx.staff.actor,
        target_type="statement_request",
        target_id=request.id,
        details={
            "complaint_id": str(complaint.id),
            "unit_id": str(unit_id),
            "deadline": request.deadline_on.isoformat(),
            "fields": ["question", "released_facts"] if data.released_facts else ["question"],
        },
    )
    await notifications.statement_requested(
        ctx.session, request, complaint.reference, now=request.requested_at, actor_id=ctx.staff.user_id
    )
    return request


async def approve_disclosure(
    ctx: ComplaintContext,
    complaint_id: uuid.UUID,
    request_id: uuid.UUID,
) -> StatementRequest:
    """Release the complainant's identity to the unit of one statement request (lead only, audited)."""
    complaint = await load(ctx, complaint_id, for_update=True)
    request = await repository.get_statement_request(ctx.session, complaint.id, request_id)
    if request is None:
        raise StatementRequestNotFoundError()
    if request.disclosure_approved_at is None:
        request.disclosure_approved_at = ctx.config.now()
        request.disclosure_approved_by_id = ctx.staff.user_id
        ctx.session.add(request)
        await audit(
            ctx,
            action=ComplaintAuditAction.STATEMENT_REQUEST_APPROVE_DISCLOSURE,
            actor=ctx.staff.actor,
            target_type="statement_request",
            target_id=request.id,
            details={"complaint_id": str(complaint.id), "unit_id": str(request.unit_id)},
        )
    return request


async def list_for_unit(
    ctx: ComplaintContext,
    *,
    state: StatementRequestState | None,
    overdue: bool,
    after: str | None,
    limit: int,
) -> listing.Page[schemas.UnitStatementRequestSummary]:
    """One page of the requests addressed to the caller's unit, nearest deadline first."""
    query = repository.unit_requests_query(
        ctx.staff,
        answered=None if state is None else state is StatementRequestState.ANSWERED,
        overdue_before=ctx.config.today() if overdue else None,
    )
    found = await listing.fetch_page(
        ctx.session, query, repository.UNIT_REQUEST_ORDER, after=after, limit=limit
    )
    # The complaints of the whole page in one query (reference and category only are shown).
    complaints = await repository.complaints_by_id(ctx.session, {row.complaint_id for row in found.items})
    items = [unit_request_summary(row, complaints[row.complaint_id], ctx) for row in found.items]
    return listing.Page(items=items, next_cursor=found.next_cursor)


async def read_for_unit(ctx: ComplaintContext, request_id: uuid.UUID) -> schemas.UnitStatementRequest:
    found = await repository.unit_statement_request(ctx.session, ctx.staff, request_id)
    if found is None:
        raise StatementRequestNotFoundError()
    request, complaint = found
    return await unit_request_view(ctx, request, complaint)


async def answer(
    ctx: ComplaintContext,
    request_id: uuid.UUID,
    text: str,
) -> schemas.UnitStatementRequestSummary:
    found = await repository.unit_statement_request(ctx.session, ctx.staff, request_id, for_update=True)
    if found is None:
        raise StatementRequestNotFoundError()
    request, complaint = found
    if request.answered_at is not None:
        raise StatementAlreadyAnsweredError()
    if complaint.status != ComplaintStatus.STATEMENT_REQUESTED.value:
        raise InvalidTransitionError(
            "The complaint no longer awaits this statement.",
            extra={"current_status": complaint.status, "action": ComplaintAction.RECEIVE_STATEMENT.value},
        )
    key = await ctx.key_of(complaint)
    now = ctx.config.now()
    seal(request, key, answer=text)
    request.answered_at = now
    request.answered_on = ctx.config.today()
    request.answered_by_id = ctx.staff.user_id
    await repository.add(ctx.session, request)
    await audit(
        ctx,
        action=ComplaintAuditAction.STATEMENT_REQUEST_ANSWER,
        actor=ctx.staff.actor,
        target_type="statement_request",
        target_id=request.id,
        details={"complaint_id": str(complaint.id), "fields": ["answer"]},
    )
    if await repository.outstanding_requests(ctx.session, complaint.id) == 0:
        await transition(
            ctx,
            complaint,
            ComplaintAction.RECEIVE_STATEMENT,
            details={"statement_request_id": str(request.id)},
        )
    await refresh_deadline(ctx, complaint)
    await notifications.statement_received(ctx.session, complaint, now=now, actor_id=ctx.staff.user_id)
    return unit_request_summary(request, complaint, ctx)
