"""Reading the complaint pages' forms into the service's request types.

Each reader notes what is missing or malformed on the `FormInput` (shown next to the field) and
returns the request type, or None when the form cannot be used as it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import msgspec

from complaints import schemas
from complaints.domain import (
    STAFF_CHANNELS,
    Category,
    Channel,
    ComplainantKind,
    ComplaintType,
    ForwardReason,
    MessageVisibility,
    NoDecisionReason,
    Outcome,
)
from complaints.errors import InvalidComplaintError, UnknownPoliceUnitError, UnknownReferenceError
from complaints.pages.common import options
from referral_service.problems import DomainError
from referral_service.web.forms import FormInput
from referral_service.web.i18n import N_

_EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
_PHONE = r"\+?[0-9][0-9 ()/.\-]{2,39}"
# The channels the office records, in the order the entry form offers them.
CHANNEL_ORDER = [channel for channel in Channel if channel in STAFF_CHANNELS]

# The intake service names the field it refused; the form shows a message for that field.
PUBLIC_INTAKE_ERRORS: Mapping[str, str] = {
    "name": N_("complaint.error.name"),
    "email": N_("complaint.error.anonymous_identity"),
    "phone": N_("complaint.error.anonymous_identity"),
    "address": N_("complaint.error.anonymous_identity"),
    "description": N_("form.error.required"),
    "incident_date": N_("complaint.error.incident_date"),
    "follow_up_of": N_("complaint.error.follow_up_of"),
}
# The same refusals, worded for office staff entering someone else's complaint.
STAFF_INTAKE_ERRORS: Mapping[str, str] = {
    **PUBLIC_INTAKE_ERRORS,
    "name": N_("office.entry.error.name"),
    "channel": N_("form.error.choose"),
}


def read_uuid(data: FormInput, name: str, *, required: bool = True) -> uuid.UUID | None:
    text = data.text(name, required=required, max_length=36)
    if text is None:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        data.error(name, N_("form.error.choose"))
        return None


def _complaint_fields(data: FormInput) -> dict[str, Any]:
    return {
        "complaint_type": data.choice("complaint_type", ComplaintType),
        "follow_up_of": data.text("follow_up_of", max_length=32),
        "complainant_kind": data.choice("complainant_kind", ComplainantKind),
        "name": data.text("name"),
        "email": data.text("email", max_length=254, pattern=_EMAIL),
        "phone": data.text("phone", max_length=40, pattern=_PHONE),
        "address": data.text("address", max_length=500),
        "identity_confidential": data.flag("identity_confidential"),
        "category": data.choice("category", Category),
        "description": data.text("description", required=True, max_length=schemas.MAX_TEXT),
        "incident_date": data.date("incident_date"),
        "place": data.text("place", max_length=500),
        "police_unit_id": read_uuid(data, "police_unit_id", required=False),
    }


def _convert(data: FormInput, fields: dict[str, Any], kind: type[schemas.ComplaintCreate]) -> Any:
    if not data.ok:
        return None
    try:
        return msgspec.convert({k: v for k, v in fields.items() if v is not None}, kind)
    except msgspec.ValidationError:
        data.error("description", N_("complaint.error.generic"))
        return None


def read_complaint(data: FormInput) -> schemas.ComplaintCreate | None:
    """The public form (channel web)."""
    created: schemas.ComplaintCreate | None = _convert(data, _complaint_fields(data), schemas.ComplaintCreate)
    return created


def read_staff_complaint(data: FormInput) -> schemas.StaffComplaintCreate | None:
    """The office's entry form: the public form's fields plus the channel it arrived by."""
    fields = _complaint_fields(data)
    channel = data.choice("channel", Channel)
    if channel is not None and channel not in STAFF_CHANNELS:
        data.error("channel", N_("form.error.choose"))
    fields["channel"] = channel
    created: schemas.StaffComplaintCreate | None = _convert(data, fields, schemas.StaffComplaintCreate)
    return created


def note_intake_refusal(data: FormInput, exc: DomainError, messages: Mapping[str, str]) -> None:
    """Put the intake service's refusal next to the field it concerns."""
    if isinstance(exc, InvalidComplaintError):
        for item in exc.extra.get("errors", []):
            field = str(item.get("field", ""))
            data.error(
                field if field in messages else "description",
                messages.get(field, N_("complaint.error.generic")),
            )
    elif isinstance(exc, UnknownPoliceUnitError):
        data.error("police_unit_id", N_("form.error.choose"))
    elif isinstance(exc, UnknownReferenceError):
        data.error("follow_up_of", N_("office.entry.error.unknown_reference"))
    else:
        data.error("description", N_("complaint.error.generic"))


def intake_form_context(
    units: list[tuple[str, str]], data: FormInput | None, *, staff: bool = False
) -> dict[str, Any]:
    """What the public form and the office's entry form need to show (again)."""
    defaults: dict[str, Any] = {"complaint_type": ComplaintType.COMPLAINT.value}
    return {
        "values": data.values if data else defaults,
        "errors": data.errors if data else {},
        "complaint_types": options("complaint.type", list(ComplaintType)),
        "complainant_kinds": options("complaint.kind", list(ComplainantKind)),
        "categories": options("complaint.category", list(Category)),
        "channels": options("complaint.channel", CHANNEL_ORDER) if staff else [],
        "police_units": units,
    }


# The office's steps on one complaint


def read_triage(data: FormInput) -> schemas.TriageUpdate:
    return schemas.TriageUpdate(
        category=data.choice("category", Category, required=False),
        police_unit_id=read_uuid(data, "police_unit_id", required=False),
        identity_confidential=data.flag("identity_confidential"),
        complete=data.flag("complete"),
    )


def read_statement_request(data: FormInput) -> schemas.StatementRequestCreate | None:
    unit_id = read_uuid(data, "unit_id", required=False)
    question = data.text("question", required=True, max_length=schemas.MAX_TEXT)
    facts = data.text("released_facts", max_length=schemas.MAX_TEXT) or ""
    deadline = data.date("deadline")
    if question is None:
        return None
    return schemas.StatementRequestCreate(
        unit_id=unit_id, question=question, released_facts=facts, deadline=deadline
    )


def read_decision(data: FormInput) -> schemas.DecisionCreate | None:
    outcome = data.choice("outcome", Outcome)
    reason = data.choice("no_decision_reason", NoDecisionReason, required=False)
    reply = data.text("reply", max_length=schemas.MAX_TEXT)
    criminal = data.flag("criminal_investigation")
    disciplinary = data.flag("disciplinary_proceedings")
    if outcome is None:
        return None
    return schemas.DecisionCreate(
        outcome=outcome,
        no_decision_reason=reason,
        criminal_investigation=criminal,
        disciplinary_proceedings=disciplinary,
        reply=reply,
        # Two buttons post the same form: "save draft" (0) and "decide" (1).
        final=data.form.get("final") == "1",
    )


def read_forwarding(data: FormInput) -> schemas.ForwardCreate | None:
    reason = data.choice("forward_reason", ForwardReason)
    return schemas.ForwardCreate(reason=reason) if reason else None


def read_withdrawal(data: FormInput) -> None:
    if not data.flag("confirm_withdrawal"):
        data.error("confirm_withdrawal", N_("complaint.error.confirm_withdrawal"))


def read_office_message(data: FormInput) -> schemas.OfficeMessageCreate | None:
    body = data.text("message_body", required=True, max_length=schemas.MAX_TEXT)
    visibility = data.choice("visibility", MessageVisibility)
    return schemas.OfficeMessageCreate(body=body, visibility=visibility) if body and visibility else None


def no_input(data: FormInput) -> None:
    """A step that is only a button (close, resume)."""
