"""What each reader sees of a complaint, decrypted, with the read audited in the same transaction.

- the complainant: public status, dates, outcome, the messages meant for them, their attachments;
- the office: everything, except the complainant's identity where it is confidential and the reader
  is not the lead (`identity_withheld`);
- the police unit asked for a statement: question, released facts, deadline, reference and category,
  its own answer, and the complainant's identity only after the lead approved disclosure to it.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from complaints import repository, schemas
from complaints.audit_actions import ComplaintAuditAction
from complaints.deadlines import is_overdue
from complaints.domain import (
    OUTCOME_LABELS,
    PUBLIC_STATUS,
    Category,
    Channel,
    ComplainantKind,
    ComplaintStatus,
    ComplaintType,
    ForwardReason,
    MessageVisibility,
    NoDecisionReason,
    Outcome,
)
from complaints.models import Complaint, ComplaintAttachment, ComplaintMessage, StatementRequest
from complaints.service.access import ComplainantAccess, own_complaint
from complaints.service.common import COMPLAINANT, ComplaintContext, audit_read
from complaints.service.render import attachment_info, public_message
from crypto import DataKey
from referral_service.identity.principal import Principal
from referral_service.keys.fields import open_fields

IDENTITY_FIELDS = ("name", "email", "phone", "address")


def _attachments(rows: Sequence[ComplaintAttachment], key: DataKey) -> list[schemas.AttachmentInfo]:
    return [attachment_info(row, key) for row in rows]


def _complainant(complaint: Complaint, key: DataKey) -> schemas.Complainant | None:
    if complaint.complainant_kind == ComplainantKind.ANONYMOUS.value:
        return None
    values = open_fields(complaint, key, IDENTITY_FIELDS)
    return schemas.Complainant(
        name=values["name"], email=values["email"], phone=values["phone"], address=values["address"]
    )


def _opened_identity_fields(complaint: Complaint) -> list[str]:
    return [f"complaint.{name}" for name in IDENTITY_FIELDS if getattr(complaint, name) is not None]


# The complainant


async def complainant_messages(
    ctx: ComplaintContext, access: ComplainantAccess
) -> list[schemas.PublicMessage]:
    complaint = await own_complaint(ctx, access)
    key = await ctx.key_of(complaint)
    messages = await repository.messages_of(ctx.session, complaint.id, MessageVisibility.COMPLAINANT)
    await audit_read(
        ctx,
        action=ComplaintAuditAction.MESSAGE_READ,
        actor=COMPLAINANT,
        target_type="complaint",
        target_id=complaint.id,
        fields=["complaint_message.body"] if messages else [],
        details={"count": len(messages)},
    )
    return [public_message(message, key) for message in messages]


async def complainant_view(ctx: ComplaintContext, access: ComplainantAccess) -> schemas.ComplainantView:
    complaint = await own_complaint(ctx, access)
    key = await ctx.key_of(complaint)
    messages = await repository.messages_of(ctx.session, complaint.id, MessageVisibility.COMPLAINANT)
    attachments = await repository.attachments_of(ctx.session, complaint.id)
    fields = (["complaint_message.body"] if messages else []) + (
        ["complaint_attachment.filename"] if attachments else []
    )
    await audit_read(
        ctx,
        action=ComplaintAuditAction.COMPLAINT_READ,
        actor=COMPLAINANT,
        target_type="complaint",
        target_id=complaint.id,
        fields=fields,
    )
    outcome = Outcome(complaint.outcome) if complaint.outcome else None
    return schemas.ComplainantView(
        reference=complaint.reference,
        complaint_type=ComplaintType(complaint.complaint_type),
        category=Category(complaint.category),
        category_label=Category(complaint.category).label,
        status=PUBLIC_STATUS[ComplaintStatus(complaint.status)],
        received_at=complaint.received_at,
        decided_at=complaint.decided_at,
        closed_at=complaint.closed_at,
        outcome=outcome,
        outcome_label=OUTCOME_LABELS[outcome] if outcome else None,
        messages=[public_message(message, key) for message in messages],
        attachments=_attachments(attachments, key),
    )


# The office


def summary(complaint: Complaint, ctx: ComplaintContext) -> schemas.ComplaintSummary:
    return schemas.ComplaintSummary(
        id=complaint.id,
        reference=complaint.reference,
        complaint_type=ComplaintType(complaint.complaint_type),
        complainant_kind=ComplainantKind(complaint.complainant_kind),
        from_police_staff=complaint.from_police_staff,
        channel=Channel(complaint.channel),
        category=Category(complaint.category),
        status=ComplaintStatus(complaint.status),
        police_unit_id=complaint.police_unit_id,
        assignee_id=complaint.assignee_id,
        received_at=complaint.received_at,
        deadline=complaint.deadline_on,
        overdue=is_overdue(complaint.status, complaint.deadline_on, ctx.config.today()),
    )


def identity_visible_to(principal: Principal, complaint: Complaint) -> bool:
    return not complaint.identity_confidential or repository.sees_all_complaints(principal)


def _office_request(
    request: StatementRequest, key: DataKey, ctx: ComplaintContext
) -> schemas.OfficeStatementRequest:
    values = open_fields(request, key, ["question", "released_facts", "answer"])
    return schemas.OfficeStatementRequest(
        id=request.id,
        unit_id=request.unit_id,
        question=values["question"] or "",
        released_facts=values["released_facts"] or "",
        deadline=request.deadline_on,
        requested_on=request.requested_on,
        answered_at=request.answered_at,
        answer=values["answer"],
        disclosure_approved_at=request.disclosure_approved_at,
        overdue=request.answered_at is None and ctx.config.today() > request.deadline_on,
    )


def _draft(complaint: Complaint, key: DataKey) -> schemas.DecisionDraft | None:
    if complaint.draft_outcome is None:
        return None
    return schemas.DecisionDraft(
        outcome=Outcome(complaint.draft_outcome),
        no_decision_reason=NoDecisionReason(complaint.draft_no_decision_reason)
        if complaint.draft_no_decision_reason
        else None,
        criminal_investigation=complaint.draft_criminal_investigation,
        disciplinary_proceedings=complaint.draft_disciplinary_proceedings,
        reply=open_fields(complaint, key, ["draft_reply"])["draft_reply"],
        drafted_by_id=complaint.drafted_by_id,
        drafted_at=complaint.drafted_at,
    )


async def office_detail(ctx: ComplaintContext, complaint: Complaint) -> schemas.ComplaintDetail:
    key = await ctx.key_of(complaint)
    requests = await repository.statement_requests_of(ctx.session, complaint.id)
    attachments = await repository.attachments_of(ctx.session, complaint.id)
    further = await repository.further_categories_of(ctx.session, complaint.id)
    show_identity = identity_visible_to(ctx.staff, complaint)
    values = open_fields(complaint, key, ["description", "place"])
    fields = ["complaint.description"] + (["complaint.place"] if complaint.place is not None else [])
    if show_identity:
        fields += _opened_identity_fields(complaint)
    if complaint.draft_reply is not None:
        fields.append("complaint.draft_reply")
    if requests:
        fields += ["statement_request.question", "statement_request.released_facts"]
        if any(request.answer is not None for request in requests):
            fields.append("statement_request.answer")
    if attachments:
        fields.append("complaint_attachment.filename")
    await audit_read(
        ctx,
        action=ComplaintAuditAction.COMPLAINT_READ,
        actor=ctx.staff.actor,
        target_type="complaint",
        target_id=complaint.id,
        fields=fields,
    )
    return schemas.ComplaintDetail(
        **msgspec.structs.asdict(summary(complaint, ctx)),
        further_categories=[Category(code) for code in further],
        complainant=_complainant(complaint, key) if show_identity else None,
        identity_withheld=not show_identity and complaint.complainant_kind != ComplainantKind.ANONYMOUS.value,
        identity_confidential=complaint.identity_confidential,
        description=values["description"] or "",
        place=values["place"],
        incident_date=complaint.incident_date,
        follow_up_of_id=complaint.follow_up_of_id,
        follow_up_reference=complaint.follow_up_reference,
        outcome=Outcome(complaint.outcome) if complaint.outcome else None,
        no_decision_reason=NoDecisionReason(complaint.no_decision_reason)
        if complaint.no_decision_reason
        else None,
        criminal_investigation=complaint.criminal_investigation,
        disciplinary_proceedings=complaint.disciplinary_proceedings,
        forward_reason=ForwardReason(complaint.forward_reason) if complaint.forward_reason else None,
        decided_at=complaint.decided_at,
        closed_at=complaint.closed_at,
        draft=_draft(complaint, key),
        statement_requests=[_office_request(request, key, ctx) for request in requests],
        attachments=_attachments(attachments, key),
    )


def office_message(message: ComplaintMessage, key: DataKey) -> schemas.OfficeMessage:
    return schemas.OfficeMessage(
        id=message.id,
        visibility=MessageVisibility(message.visibility),
        author_kind=message.author_kind,
        author_id=message.author_id,
        body=open_fields(message, key, ["body"])["body"] or "",
        created_at=message.created_at,
    )


# The police unit asked for a statement


def unit_request_summary(
    request: StatementRequest, complaint: Complaint, ctx: ComplaintContext
) -> schemas.UnitStatementRequestSummary:
    category = Category(complaint.category)
    return schemas.UnitStatementRequestSummary(
        id=request.id,
        complaint_reference=complaint.reference,
        category=category,
        category_label=category.label,
        deadline=request.deadline_on,
        requested_on=request.requested_on,
        answered_at=request.answered_at,
        overdue=request.answered_at is None and ctx.config.today() > request.deadline_on,
    )


async def unit_request_view(
    ctx: ComplaintContext,
    request: StatementRequest,
    complaint: Complaint,
) -> schemas.UnitStatementRequest:
    key = await ctx.key_of(complaint)
    values = open_fields(request, key, ["question", "released_facts", "answer"])
    disclosed = request.disclosure_approved_at is not None
    fields = ["statement_request.question", "statement_request.released_facts"]
    if request.answer is not None:
        fields.append("statement_request.answer")
    if disclosed:
        fields += _opened_identity_fields(complaint)
    await audit_read(
        ctx,
        action=ComplaintAuditAction.STATEMENT_REQUEST_READ,
        actor=ctx.staff.actor,
        target_type="statement_request",
        target_id=request.id,
        fields=fields,
        details={"complaint_id": str(complaint.id), "identity_disclosed": disclosed},
    )
    return schemas.UnitStatementRequest(
        **msgspec.structs.asdict(unit_request_summary(request, complaint, ctx)),
        question=values["question"] or "",
        released_facts=values["released_facts"] or "",
        answer=values["answer"],
        disclosure_approved=disclosed,
        complainant=_complainant(complaint, key) if disclosed else None,
    )
