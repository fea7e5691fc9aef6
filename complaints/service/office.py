"""The office's work on a complaint: reading, assigning and taking, triage, decisions, closing, side
exits, messages and attachments (the lists are in `queue`). Every step goes through the transition table
in `complaints.domain` and is audited in the caller's transaction; the complaint is read scoped (and
locked for changes), so a complaint outside the caller's scope is "not found".
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from complaints import notifications, repository, schemas
from complaints.attachments import open_attachment
from complaints.audit_actions import ComplaintAuditAction
from complaints.domain import (
    OPEN_STATES,
    AuthorKind,
    Category,
    ComplaintAction,
    ComplaintStatus,
    MessageVisibility,
    Outcome,
    next_status,
)
from complaints.errors import (
    AlreadyAssignedError,
    AttachmentNotFoundError,
    ComplaintNotFoundError,
    InvalidAssigneeError,
    InvalidComplaintError,
    InvalidTransitionError,
    LeadOnlyError,
    UnknownPoliceUnitError,
)
from complaints.models import Complaint, ComplaintAttachment, ComplaintMessage
from complaints.service import backdating
from complaints.service.common import ComplaintContext, audit, audit_read, set_categories, transition
from complaints.service.views import office_detail, office_message
from referral_service.identity.permissions import Permission
from referral_service.keys.fields import seal
from referral_service.validation import FieldError, RequestValidationError

DRAFTABLE = frozenset(
    {ComplaintStatus.IN_PROGRESS, ComplaintStatus.STATEMENT_REQUESTED, ComplaintStatus.STATEMENT_RECEIVED}
)


async def load(ctx: ComplaintContext, complaint_id: uuid.UUID, *, for_update: bool = False) -> Complaint:
    complaint = await repository.get_complaint(ctx.session, ctx.staff, complaint_id, for_update=for_update)
    if complaint is None:
        raise ComplaintNotFoundError()
    return complaint


def _require_open(complaint: Complaint, action: str) -> None:
    if ComplaintStatus(complaint.status) not in OPEN_STATES:
        raise InvalidTransitionError(
            f"'{action}' is not possible while the complaint is '{complaint.status}'.",
            extra={"current_status": complaint.status, "action": action},
        )


async def read(ctx: ComplaintContext, complaint_id: uuid.UUID) -> schemas.ComplaintDetail:
    return await office_detail(ctx, await load(ctx, complaint_id))


async def assign(
    ctx: ComplaintContext,
    complaint_id: uuid.UUID,
    assignee_id: uuid.UUID,
) -> Complaint:
    complaint = await load(ctx, complaint_id, for_update=True)
    _require_open(complaint, "assign")
    if not await repository.is_active_office_user(ctx.session, assignee_id):
        raise InvalidAssigneeError()
    await _hand_to(ctx, complaint, assignee_id)
    return complaint


async def _hand_to(
    ctx: ComplaintContext, complaint: Complaint, assignee_id: uuid.UUID, **details: object
) -> None:
    """Make `assignee_id` the complaint's handler, audited as an assignment (assigned or taken), and
    tell them (unless they took it themselves, or already held it)."""
    previous = complaint.assignee_id
    complaint.assignee_id = assignee_id
    complaint.updated_at = ctx.config.now()
    ctx.session.add(complaint)
    if assignee_id != previous:
        await notifications.assigned(
            ctx.session, complaint, now=complaint.updated_at, actor_id=ctx.staff.user_id
        )
    await audit(
        ctx,
        action=ComplaintAuditAction.COMPLAINT_ASSIGN,
        actor=ctx.staff.actor,
        target_id=complaint.id,
        details={
            "assignee_id": str(assignee_id),
            "previous_assignee_id": str(previous) if previous else None,
            **details,
        },
    )


async def take(ctx: ComplaintContext, complaint_id: uuid.UUID) -> Complaint:
    """The caller assigns an open complaint nobody holds to themselves (audited as an assignment).
    Taking one already theirs changes nothing; one a colleague holds is the lead's to move (409). A
    complaint taken by somebody else meanwhile is out of a handler's scope again: "not found"."""
    complaint = await repository.take(ctx.session, ctx.staff, complaint_id)
    if complaint is None:
        raise ComplaintNotFoundError()
    if complaint.assignee_id == ctx.staff.user_id:
        return complaint
    if complaint.assignee_id is not None:
        raise AlreadyAssignedError()
    _require_open(complaint, "take")
    await _hand_to(ctx, complaint, ctx.staff.user_id, taken=True)
    return complaint


async def triage(
    ctx: ComplaintContext,
    complaint_id: uuid.UUID,
    data: schemas.TriageUpdate,
) -> Complaint:
    complaint = await load(ctx, complaint_id, for_update=True)
    if complaint.status == ComplaintStatus.RECEIVED.value:
        await transition(ctx, complaint, ComplaintAction.START_TRIAGE)
    elif complaint.status != ComplaintStatus.TRIAGE.value:
        next_status(complaint.status, ComplaintAction.START_TRIAGE)  # raises the stable 409
    changed: list[str] = []
    further = await repository.further_categories_of(ctx.session, complaint.id)
    if data.category is not None or data.further_categories is not None:
        primary = data.category or Category(complaint.category)
        wanted = data.further_categories
        if primary.value != complaint.category:
            changed.append("category")
        further_before = further
        further = await set_categories(
            ctx.session,
            complaint,
            primary,
            [Category(code) for code in further] if wanted is None else wanted,
        )
        if further != further_before:
            changed.append("further_categories")
    if data.police_unit_id is not None and data.police_unit_id != complaint.police_unit_id:
        if await repository.police_unit(ctx.session, data.police_unit_id) is None:
            raise UnknownPoliceUnitError()
        complaint.police_unit_id = data.police_unit_id
        changed.append("police_unit_id")
    if (
        data.identity_confidential is not None
        and data.identity_confidential != complaint.identity_confidential
    ):
        if not data.identity_confidential and complaint.from_police_staff:
            raise InvalidComplaintError("The identity of police employees stays confidential.")
        complaint.identity_confidential = data.identity_confidential
        changed.append("identity_confidential")
    ctx.session.add(complaint)
    await audit(
        ctx,
        action=ComplaintAuditAction.COMPLAINT_TRIAGE,
        actor=ctx.staff.actor,
        target_id=complaint.id,
        details={"changed": changed, "category": complaint.category, "further_categories": further},
    )
    if data.complete:
        await transition(ctx, complaint, ComplaintAction.COMPLETE_TRIAGE)
    return complaint


def _reason_error(code: str, message: str) -> dict[str, str]:
    # The shape of every field error (`referral_service.validation.FieldError`).
    return {"field": "no_decision_reason", "code": code, "message": message}


def check_decision(data: schemas.DecisionCreate) -> None:
    """The decision's own consistency, before any state is looked at (also asked before confirming)."""
    if data.outcome is Outcome.NO_DECISION and data.no_decision_reason is None:
        raise InvalidComplaintError(
            "Without a decision on the merits, give the reason.",
            extra={"errors": [_reason_error("value.required", "required for no_decision")]},
        )
    if data.outcome is not Outcome.NO_DECISION and data.no_decision_reason is not None:
        raise InvalidComplaintError(
            "A reason belongs to 'no_decision' only.",
            extra={"errors": [_reason_error("value.invalid", "only for no_decision")]},
        )
    if data.decided_at is not None and not data.final:
        raise RequestValidationError(
            [FieldError("decided_at", "value.invalid", "A decision date belongs to the final decision only.")]
        )


async def decide(
    ctx: ComplaintContext,
    complaint_id: uuid.UUID,
    data: schemas.DecisionCreate,
) -> Complaint:
    """Save a draft (handler or lead), or decide (lead only): outcome, follow-up flags, reply."""
    check_decision(data)
    if data.final and not ctx.staff.has(Permission.COMPLAINT_COMPLAINT_DECIDE):
        raise LeadOnlyError("Handlers may save a draft; the lead decides.")
    complaint = await load(ctx, complaint_id, for_update=True)
    key = await ctx.key_of(complaint)
    now = ctx.config.now()
    flags = {
        "outcome": data.outcome,
        "no_decision_reason": data.no_decision_reason,
        "criminal_investigation": data.criminal_investigation,
        "disciplinary_proceedings": data.disciplinary_proceedings,
    }
    if not data.final:
        if ComplaintStatus(complaint.status) not in DRAFTABLE:
            raise InvalidTransitionError(
                f"A decision cannot be drafted while the complaint is '{complaint.status}'.",
                extra={"current_status": complaint.status, "action": "draft_decision"},
            )
        complaint.draft_outcome = data.outcome.value
        complaint.draft_no_decision_reason = (
            data.no_decision_reason.value if data.no_decision_reason else None
        )
        complaint.draft_criminal_investigation = data.criminal_investigation
        complaint.draft_disciplinary_proceedings = data.disciplinary_proceedings
        seal(complaint, key, draft_reply=data.reply)
        complaint.drafted_by_id = ctx.staff.user_id
        complaint.drafted_at = now
        complaint.updated_at = now
        ctx.session.add(complaint)
        await audit(
            ctx,
            action=ComplaintAuditAction.DECISION_DRAFT,
            actor=ctx.staff.actor,
            target_id=complaint.id,
            details={**flags, "reply": data.reply is not None},
        )
        return complaint

    backdated = ["decided_at"] if data.decided_at is not None else []
    decided_at = backdating.checked(
        ctx, "decided_at", data.decided_at, not_before=("received_at", complaint.received_at)
    )
    await transition(
        ctx, complaint, ComplaintAction.DECIDE, details={**flags, **backdating.audit_details(backdated)}
    )
    complaint.outcome = data.outcome.value
    complaint.no_decision_reason = data.no_decision_reason.value if data.no_decision_reason else None
    complaint.criminal_investigation = data.criminal_investigation
    complaint.disciplinary_proceedings = data.disciplinary_proceedings
    complaint.decided_at = decided_at
    complaint.decided_by_id = ctx.staff.user_id
    complaint.draft_outcome = complaint.draft_no_decision_reason = None
    complaint.draft_criminal_investigation = complaint.draft_disciplinary_proceedings = False
    complaint.draft_reply = None
    complaint.drafted_by_id = complaint.drafted_at = None
    ctx.session.add(complaint)
    if data.reply is not None:
        await _add_message(ctx, complaint, data.reply, MessageVisibility.COMPLAINANT)
    # The outcome shows on the complainant's page, with or without a reply: one piece of news. Not for
    # a decision of an earlier year: the complainant was answered back then, by letter.
    if not backdated:
        await notifications.news_for_complainant(ctx.session, complaint, now=now)
    return complaint


async def close(
    ctx: ComplaintContext, complaint_id: uuid.UUID, data: schemas.CloseCreate | None = None
) -> Complaint:
    """Close a decided complaint, now or (historical entry) at a past `closed_at`, not before the decision."""
    complaint = await load(ctx, complaint_id, for_update=True)
    given = data.closed_at if data is not None else None
    backdated = ["closed_at"] if given is not None else []
    closed_at = backdating.checked(
        ctx, "closed_at", given, not_before=("decided_at", complaint.decided_at or complaint.received_at)
    )
    await transition(ctx, complaint, ComplaintAction.CLOSE, details=backdating.audit_details(backdated))
    complaint.closed_at = closed_at
    ctx.session.add(complaint)
    return complaint


async def forward(
    ctx: ComplaintContext,
    complaint_id: uuid.UUID,
    data: schemas.ForwardCreate,
) -> Complaint:
    complaint = await load(ctx, complaint_id, for_update=True)
    await transition(ctx, complaint, ComplaintAction.FORWARD, details={"reason": data.reason})
    complaint.forward_reason = data.reason.value
    complaint.closed_at = ctx.config.now()
    ctx.session.add(complaint)
    # The complainant's page now says that another authority has the complaint.
    await notifications.news_for_complainant(ctx.session, complaint, now=complaint.closed_at)
    return complaint


async def resume(ctx: ComplaintContext, complaint_id: uuid.UUID) -> Complaint:
    complaint = await load(ctx, complaint_id, for_update=True)
    await transition(ctx, complaint, ComplaintAction.RESUME)
    return complaint


async def withdraw(ctx: ComplaintContext, complaint_id: uuid.UUID) -> Complaint:
    complaint = await load(ctx, complaint_id, for_update=True)
    await transition(ctx, complaint, ComplaintAction.WITHDRAW)
    complaint.closed_at = ctx.config.now()
    ctx.session.add(complaint)
    return complaint


async def _add_message(
    ctx: ComplaintContext,
    complaint: Complaint,
    body: str,
    visibility: MessageVisibility,
) -> ComplaintMessage:
    key = await ctx.key_of(complaint)
    message = ComplaintMessage(
        complaint_id=complaint.id,
        visibility=visibility.value,
        author_kind=AuthorKind.STAFF.value,
        author_id=ctx.staff.user_id,
        created_at=ctx.config.now(),
    )
    seal(message, key, body=body)
    await repository.add(ctx.session, message)
    await audit(
        ctx,
        action=ComplaintAuditAction.MESSAGE_CREATE,
        actor=ctx.staff.actor,
        target_id=complaint.id,
        details={"message_id": str(message.id), "visibility": visibility},
    )
    return message


async def post_message(
    ctx: ComplaintContext,
    complaint_id: uuid.UUID,
    data: schemas.OfficeMessageCreate,
) -> schemas.OfficeMessage:
    complaint = await load(ctx, complaint_id)
    message = await _add_message(ctx, complaint, data.body, data.visibility)
    if data.visibility is MessageVisibility.COMPLAINANT:
        await notifications.news_for_complainant(ctx.session, complaint, now=message.created_at)
    return office_message(message, await ctx.key_of(complaint))


async def messages(ctx: ComplaintContext, complaint_id: uuid.UUID) -> list[schemas.OfficeMessage]:
    complaint = await load(ctx, complaint_id)
    key = await ctx.key_of(complaint)
    rows: Sequence[ComplaintMessage] = await repository.messages_of(ctx.session, complaint.id)
    await audit_read(
        ctx,
        action=ComplaintAuditAction.MESSAGE_READ,
        actor=ctx.staff.actor,
        target_type="complaint",
        target_id=complaint.id,
        fields=["complaint_message.body"] if rows else [],
        details={"count": len(rows)},
    )
    return [office_message(row, key) for row in rows]


async def attachment_content(
    ctx: ComplaintContext,
    complaint_id: uuid.UUID,
    attachment_id: uuid.UUID,
) -> tuple[ComplaintAttachment, bytes]:
    complaint = await load(ctx, complaint_id)
    attachment = await repository.get_attachment(ctx.session, complaint.id, attachment_id)
    if attachment is None:
        raise AttachmentNotFoundError()
    content = open_attachment(attachment, await ctx.key_of(complaint))
    await audit_read(
        ctx,
        action=ComplaintAuditAction.ATTACHMENT_READ,
        actor=ctx.staff.actor,
        target_type="complaint_attachment",
        target_id=attachment.id,
        fields=["complaint_attachment.content"],
        details={"complaint_id": str(complaint.id)},
    )
    return attachment, content
