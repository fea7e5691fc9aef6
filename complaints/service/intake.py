"""Receiving complaints: from the public form (no account) and entered by the office.

Both ways give the complainant a reference and an access code (shown once, valid for the complaint
as often as needed). Validation happens before anything is written, and the whole submission is one
transaction: a refused complaint leaves no row, no data key and no counter step behind.

Follow-ups from the public: the earlier reference is format-checked and the follow-up is always
accepted; it is linked when the reference exists and left unlinked (the typed reference kept for the
office) when it does not. The answer is the same either way, so the public form is no oracle for
which references exist. Staff entering a follow-up are told when the reference is unknown.

The rules that need the clock or several fields (anonymous means no identity, a name otherwise, no
incident date in the future, a reference only on a follow-up) are refused together as field errors
(`RequestValidationError`, 422 with `errors`); `intake_errors` is pure, so that the pages show them
with their own messages before anything is sent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from complaints import access_codes, references, repository
from complaints.audit_actions import ComplaintAuditAction
from complaints.deadlines import answer_deadline
from complaints.domain import STAFF_CHANNELS, Channel, ComplainantKind, ComplaintStatus, ComplaintType
from complaints.errors import UnknownPoliceUnitError, UnknownReferenceError
from complaints.models import Complaint
from complaints.schemas import ComplaintCreate, StaffComplaintCreate
from complaints.service import backdating
from complaints.service.common import CASE_KIND, ComplaintContext, audit, set_categories
from referral_service.audit.recorder import ANONYMOUS
from referral_service.keys.fields import seal
from referral_service.validation import FieldError, RequestValidationError

IDENTITY_FIELDS = ("name", "email", "phone", "address")


@dataclass(frozen=True, slots=True)
class Submitted:
    complaint: Complaint
    access_code: str  # shown once, in the response; never stored, logged or audited


ANONYMOUS_IDENTITY = "complaint.anonymous_identity"
NAME_REQUIRED = "complaint.name_required"
INCIDENT_IN_FUTURE = "complaint.incident_in_future"
FOLLOW_UP_REFERENCE = "complaint.follow_up_reference"
NOT_A_FOLLOW_UP = "complaint.not_a_follow_up"
STAFF_CHANNEL = "complaint.staff_channel"


def _given(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def intake_errors(values: Mapping[str, Any], today: dt.date) -> list[FieldError]:
    """Every rule of a complaint that needs the clock or several fields, at once, in the request type's
    order. `values` by the request type's field names, as far as they are known: a page passes what
    was typed (a wrongly written e-mail address is still an address given), and leaves out what it
    could not read (an unreadable date, no complainant group chosen) so that no rule guesses."""
    errors: list[FieldError] = []
    complaint_type = values.get("complaint_type")
    given = values.get("follow_up_of")
    follow_up_of = given if isinstance(given, str) else ""
    if complaint_type is ComplaintType.FOLLOW_UP:
        if not _given(follow_up_of):
            errors.append(
                FieldError(
                    "follow_up_of",
                    FOLLOW_UP_REFERENCE,
                    "A follow-up names the reference of the earlier complaint.",
                )
            )
        elif references.normalise_reference(follow_up_of) is None:
            errors.append(
                FieldError("follow_up_of", FOLLOW_UP_REFERENCE, "A reference looks like BS-2026-000123.")
            )
    elif complaint_type is not None and _given(follow_up_of):
        errors.append(
            FieldError("follow_up_of", NOT_A_FOLLOW_UP, "Only a follow-up names an earlier complaint.")
        )
    kind = values.get("complainant_kind")
    if kind is ComplainantKind.ANONYMOUS:
        errors += [
            FieldError(
                name, ANONYMOUS_IDENTITY, "An anonymous complaint carries no name, contact or address."
            )
            for name in IDENTITY_FIELDS
            if _given(values.get(name))
        ]
    elif kind is not None and not _given(values.get("name")):
        errors.append(
            FieldError("name", NAME_REQUIRED, "A name is required unless the complaint is anonymous.")
        )
    if "description" in values and not _given(values["description"]):
        errors.append(FieldError("description", "value.required", "The description must not be empty."))
    incident_date = values.get("incident_date")
    if isinstance(incident_date, dt.date) and incident_date > today:
        errors.append(
            FieldError("incident_date", INCIDENT_IN_FUTURE, "The incident date must not lie in the future.")
        )
    return errors


def _check(data: ComplaintCreate, ctx: ComplaintContext, channel: Channel) -> str | None:
    """Refuse inconsistent input with every error at once; returns the normalised follow-up reference."""
    errors = intake_errors(msgspec.structs.asdict(data), ctx.config.today())
    if ctx.principal is not None and channel not in STAFF_CHANNELS:
        errors.append(
            FieldError(
                "channel",
                STAFF_CHANNEL,
                "The office records letters, e-mails, faxes, phone calls and visits.",
            )
        )
    received_at = _received_at(data)
    if received_at is not None:
        errors += backdating.date_errors(ctx.config, "received_at", received_at)
    if errors:
        raise RequestValidationError(errors)
    if data.complaint_type is ComplaintType.FOLLOW_UP and data.follow_up_of is not None:
        return references.normalise_reference(data.follow_up_of)
    return None


def _received_at(data: ComplaintCreate) -> dt.datetime | None:
    """The past receipt the office gives when entering an earlier year (None: received now)."""
    return data.received_at if isinstance(data, StaffComplaintCreate) else None


async def submit(ctx: ComplaintContext, data: ComplaintCreate, *, channel: Channel) -> Submitted:
    """Store a new complaint, entered by the office or, without a principal, sent with the public form.
    The office may give a past receipt (historical entry, `complaints.service.backdating`): the
    reference, the year and the answer deadline then follow that date."""
    principal = ctx.principal
    backdated = ["received_at"] if _received_at(data) is not None else []
    backdating.require_permission(ctx, backdated)
    follow_up_reference = _check(data, ctx, channel)
    # The lock-free work first: the submission then holds the reference counter only briefly.
    access_code = access_codes.new_access_code()
    code_hash = access_codes.hash_access_code(access_code, ctx.secret)

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
    given = _received_at(data)
    received_at = given.astimezone(dt.UTC) if given is not None else now
    received_on = ctx.config.local_date(received_at)
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
        language=data.language.value,
        received_at=received_at,
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
    further = await set_categories(
        ctx.session,
        complaint,
        data.category,
        data.further_categories if isinstance(data, StaffComplaintCreate) else [],
    )
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
            "further_categories": further,
            "police_unit_id": str(data.police_unit_id) if data.police_unit_id else None,
            "follow_up_linked": follow_up_of_id is not None,
            "fields": sorted(
                name for name in (*IDENTITY_FIELDS, "description", "place") if getattr(data, name) is not None
            ),
            **backdating.audit_details(backdated),
        },
    )
    return Submitted(complaint=complaint, access_code=access_code)
