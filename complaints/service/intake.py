"""Receiving complaints: from the public form (no account) and entered by the office.

Both ways give the complainant a reference and a one-time access code. Validation happens before
anything is written, and the whole submission is one transaction: a refused complaint leaves no row,
no data key and no counter step behind.

Follow-ups from the public: the earlier reference is format-checked and the follow-up is always
accepted; it is linked when the reference exists and left unlinked (the typed reference kept for the
office) when it does not. The answer is the same either way, so the public form is no oracle for
which references exist. Staff entering a follow-up are told when the reference is unknown.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from complaints import access_codes, references, repository
from complaints.audit_actions import ComplaintAuditAction
from complaints.deadlines import answer_deadline
from complaints.domain import STAFF_CHANNELS, Channel, ComplainantKind, ComplaintStatus, ComplaintType
from complaints.errors import InvalidComplaintError, UnknownPoliceUnitError, UnknownReferenceError
from complaints.models import Complaint
from complaints.schemas import ComplaintCreate
from complaints.service.common import CASE_KIND, ComplaintContext, audit
from referral_service.audit.recorder import ANONYMOUS
from referral_service.keys.fields import seal

IDENTITY_FIELDS = ("name", "email", "phone", "address")


@dataclass(frozen=True, slots=True)
class Submitted:
    complaint: Complaint
    access_code: str  # shown once, in the response; never stored, logged or audited


def _invalid(field: str, message: str) -> InvalidComplaintError:
    return InvalidComplaintError(
        "One or more fields are invalid.", extra={"errors": [{"field": field, "message": message}]}
    )


def _check(data: ComplaintCreate, ctx: ComplaintContext) -> str | None:
    """Refuse inconsistent input; returns the normalised follow-up reference, if any."""
    given = [name for name in IDENTITY_FIELDS if getattr(data, name) is not None]
    if data.complainant_kind is ComplainantKind.ANONYMOUS:
        if given:
            raise _invalid(given[0], "An anonymous complaint carries no name, contact or address.")
    elif data.name is None or not data.name.strip():
        raise _invalid("name", "A name is required unless the complaint is anonymous.")
    if not data.description.strip():
        raise _invalid("description", "The description must not be empty.")
    if data.incident_date is not None and data.incident_date > ctx.config.today():
        raise _invalid("incident_date", "The incident date must not be in the future.")
    if data.complaint_type is ComplaintType.FOLLOW_UP:
        if data.follow_up_of is None:
            raise _invalid("follow_up_of", "A follow-up names the reference of the earlier complaint.")
        reference = references.normalise_reference(data.follow_up_of)
        if reference is None:
            raise _invalid("follow_up_of", "A reference looks like BS-2026-000123.")
        return reference
    if data.follow_up_of is not None:
        raise _invalid("follow_up_of", "Only a follow-up names an earlier complaint.")
    return None


async def submit(ctx: ComplaintContext, data: ComplaintCreate, *, channel: Channel) -> Submitted:
    """Store a new complaint, entered by the office or, without a principal, sent with the public form."""
    principal = ctx.principal
    follow_up_reference = _check(data, ctx)
    if principal is not None and channel not in STAFF_CHANNELS:
        raise _invalid("channel", "The office records letters, e-mails, phone calls and visits.")
    # The slow, lock-free work first: the submission then holds the reference counter only briefly.
    access_code = access_codes.new_access_code()
    code_hash = await access_codes.hash_access_code(access_code, ctx.config.access_code_hashing)

    if (
        data.police_unit_id is not None
        and await repository.police_unit(ctx.session, data.police_unit_id) is None
    ):
        raise UnknownPoliceUnitError(
            "The police unit concerned is not a known police station or directorate."
        )
    follow_up_of_id: uuid.UUID | None = None
    if follow_up_reference is not None:
        earlier = await repository.complaint_by_reference(ctx.session, follow_up_reference)
        if earlier is None and principal is not None:
            raise UnknownReferenceError()
        follow_up_of_id = earlier.id if earlier is not None else None

    now = ctx.config.now()
    received_on = ctx.config.local_date(now)
    complaint = Complaint(
        reference="",
        year=received_on.year,
        sequence=0,
        access_code_hash=code_hash,
        complaint_type=data.complaint_type.value,
        complainant_kind=data.complainant_kind.value,
        from_police_staff=data.complainant_kind is ComplainantKind.POLICE_EMPLOYEE,
        channel=channel.value,
        category=data.category.value,
        status=ComplaintStatus.RECEIVED.value,
        incident_date=data.incident_date,
        police_unit_id=data.police_unit_id,
        assignee_id=principal.user_id if principal is not None else None,
        created_by_id=principal.user_id if principal is not None else None,
        follow_up_of_id=follow_up_of_id,
        follow_up_reference=follow_up_reference,
        identity_confidential=data.identity_confidential
        or data.complainant_kind is ComplainantKind.POLICE_EMPLOYEE,
        received_at=now,
        received_on=received_on,
        deadline_on=answer_deadline(ctx.config, received_on, []),
        updated_at=now,
    )
    key = await ctx.keys.create(ctx.session, CASE_KIND)
    seal(
        complaint,
        key,
        name=data.name,
        email=data.email,
        phone=data.phone,
        address=data.address,
        description=data.description,
        place=data.place,
    )
    complaint.sequence, complaint.reference = await references.allocate(ctx.session, received_on.year)
    await repository.add(ctx.session, complaint)
    await audit(
        ctx,
        action=ComplaintAuditAction.COMPLAINT_SUBMIT
        if principal is None
        else ComplaintAuditAction.COMPLAINT_CREATE,
        actor=ANONYMOUS if principal is None else principal.actor,
        target_id=complaint.id,
        details={
            "channel": channel,
            "complaint_type": data.complaint_type,
            "complainant_kind": data.complainant_kind,
            "category": data.category,
            "police_unit_id": str(data.police_unit_id) if data.police_unit_id else None,
            "follow_up_linked": follow_up_of_id is not None,
            "fields": sorted(
                name for name in (*IDENTITY_FIELDS, "description", "place") if getattr(data, name) is not None
            ),
        },
    )
    return Submitted(complaint=complaint, access_code=access_code)
