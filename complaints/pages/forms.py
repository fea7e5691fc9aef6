"""Reading the complaint pages' forms into the service's request types.

Each reader notes what is missing or malformed on the `FormInput` (shown next to the field), with the
value kinds the API applies too (e-mail, phone, dates), and applies the service's own rules that need
the clock or several fields (`intake.intake_errors`, `statements.deadline_errors`), so that every error
is shown at once. It returns the request type, or None when the form cannot be used as it is. The
error summary lists the messages in the order the fields stand on the page (`in_page_order`), also
those a refusal of the service or a file check adds after the reader.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from complaints import schemas
from complaints.config import OFFICE_TIMEZONE
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
from complaints.errors import UnknownPoliceUnitError, UnknownReferenceError
from complaints.pages.common import options
from complaints.service import backdating, intake, statements
from referral_service.problems import DomainError
from referral_service.validation import FieldError, RequestValidationError
from referral_service.values import EMAIL, PHONE
from referral_service.web.forms import FormInput
from referral_service.web.i18n import N_

# The channels the office records, in the order the entry form offers them.
CHANNEL_ORDER = [channel for channel in Channel if channel in STAFF_CHANNELS]

# The fields of the public form and of the office's entry form, in page order (templates
# `public_form.html` and `office_entry.html`).
_CONCERN = ("complaint_type", "follow_up_of")
_WHAT = ("category", "further_categories", "description", "incident_date", "place", "police_unit_id")
_WHO = ("complainant_kind", "name", "email", "phone", "address", "identity_confidential")
PUBLIC_FORM_ORDER = (*_CONCERN, *_WHAT, "attachments", *_WHO)
STAFF_FORM_ORDER = ("received_at", "channel", *_CONCERN, *_WHAT, *_WHO)

# The intake service's rules by their code, worded for the public form ...
PUBLIC_INTAKE_ERRORS: Mapping[str, str] = {
    intake.ANONYMOUS_IDENTITY: N_("complaint.error.anonymous_identity"),
    intake.NAME_REQUIRED: N_("complaint.error.name"),
    intake.INCIDENT_IN_FUTURE: N_("complaint.error.incident_date"),
    intake.FOLLOW_UP_REFERENCE: N_("complaint.error.follow_up_of"),
    intake.NOT_A_FOLLOW_UP: N_("complaint.error.follow_up_of"),
    intake.STAFF_CHANNEL: N_("form.error.choose"),
    "value.required": N_("form.error.required"),
}
# ... and for office staff entering someone else's complaint.
STAFF_INTAKE_ERRORS: Mapping[str, str] = {
    **PUBLIC_INTAKE_ERRORS,
    intake.NAME_REQUIRED: N_("office.entry.error.name"),
    backdating.DATE_IN_FUTURE: N_("office.entry.error.received_at_future"),
    backdating.BEFORE_OFFICE_OPENED: N_("office.entry.error.received_at_before_opening"),
}


def start_of_day(day: dt.date) -> dt.datetime:
    """The moment a date typed on a page stands for (historical entry): the start of that day in the
    office's calendar, as the importer reads a date alone, so that today is never "in the future" and
    the days between receipt and decision count as whole days in the report's processing time."""
    return dt.datetime.combine(day, dt.time(), tzinfo=OFFICE_TIMEZONE)


def in_page_order(errors: Mapping[str, str], order: Sequence[str]) -> dict[str, str]:
    """The messages as the fields stand on the page, for the error summary."""
    rank = {name: index for index, name in enumerate(order)}
    return dict(sorted(errors.items(), key=lambda item: rank.get(item[0], len(rank))))


def show_field_errors(data: FormInput, errors: Iterable[FieldError], messages: Mapping[str, str]) -> None:
    """The service's field errors next to the page's fields, with the page's message for each code."""
    for error in errors:
        data.error(error.field, messages.get(error.code, N_("complaint.error.generic")))


def _complaint_fields(data: FormInput, today: dt.date, messages: Mapping[str, str]) -> dict[str, Any]:
    """The fields both intake forms share, read in page order, and the intake rules on what was typed."""
    fields: dict[str, Any] = {
        "complaint_type": data.choice("complaint_type", ComplaintType),
        "follow_up_of": data.text("follow_up_of", max_length=32),
        "category": data.choice("category", Category),
        "description": data.text("description", required=True, max_length=schemas.MAX_TEXT),
        "incident_date": data.date("incident_date"),
        "place": data.text("place", max_length=500),
        "police_unit_id": data.uuid_choice("police_unit_id", required=False),
        "complainant_kind": data.choice("complainant_kind", ComplainantKind),
        "name": data.text("name"),
        "email": data.value("email", EMAIL),
        "phone": data.value("phone", PHONE),
        "address": data.text("address", max_length=500),
        "identity_confidential": data.flag("identity_confidential"),
    }
    # The rules on what was typed: a wrongly written e-mail address of an anonymous complainant is an
    # address given (to be left out), besides being wrongly written.
    # The description's rule is the reader's own ("required").
    typed = {name: data.values.get(name) for name in intake.IDENTITY_FIELDS}
    known = {name: value for name, value in {**fields, **typed}.items() if name != "description"}
    # A field keeps its first message: the reader's own, if it had one.
    show_field_errors(data, intake.intake_errors(known, today), messages)
    return fields


def _convert(data: FormInput, fields: dict[str, Any], kind: type[schemas.ComplaintCreate]) -> Any:
    if not data.ok:
        return None
    try:
        return msgspec.convert({k: v for k, v in fields.items() if v is not None}, kind)
    except msgspec.ValidationError:
        data.error("description", N_("complaint.error.generic"))
        return None


def read_complaint(data: FormInput, today: dt.date, *, language: str) -> schemas.ComplaintCreate | None:
    """The public form (channel web), sent from a page in `language`: the complainant's e-mails will be
    in the language they read the form in."""
    fields = _complaint_fields(data, today, PUBLIC_INTAKE_ERRORS)
    fields["language"] = language
    created: schemas.ComplaintCreate | None = _convert(data, fields, schemas.ComplaintCreate)
    return created


def read_staff_complaint(data: FormInput, today: dt.date) -> schemas.StaffComplaintCreate | None:
    """The office's entry form: the channel it arrived by, then the public form's fields."""
    channel = data.choice("channel", Channel)
    if channel is not None and channel not in STAFF_CHANNELS:
        data.error("channel", N_("form.error.choose"))
    fields = _complaint_fields(data, today, STAFF_INTAKE_ERRORS)
    fields["channel"] = channel
    fields["further_categories"] = data.choices("further_categories", Category)
    # Historical entry (offered to the lead only): a day stands for its start in the office's calendar,
    # so that today's date is never "in the future". The service checks the permission and the date.
    received_on = data.date("received_at")
    if received_on is not None:
        fields["received_at"] = start_of_day(received_on)
    created: schemas.StaffComplaintCreate | None = _convert(data, fields, schemas.StaffComplaintCreate)
    return created


def note_intake_refusal(data: FormInput, exc: DomainError, messages: Mapping[str, str]) -> None:
    """Put the intake service's refusal next to the field it concerns."""
    if isinstance(exc, RequestValidationError):
        show_field_errors(data, exc.errors, messages)
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
    order = STAFF_FORM_ORDER if staff else PUBLIC_FORM_ORDER
    return {
        "values": data.values if data else defaults,
        "errors": in_page_order(data.errors, order) if data else {},
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
        # The form shows the current further categories ticked: what comes back replaces them.
        further_categories=data.choices("further_categories", Category),
        police_unit_id=data.uuid_choice("police_unit_id", required=False),
        identity_confidential=data.flag("identity_confidential"),
        complete=data.flag("complete"),
    )


# The messages of the statement service's field errors (the case page finds them by their code too).
STATEMENT_REQUEST_ERRORS: Mapping[str, str] = {
    statements.UNIT_REQUIRED: N_("complaint.error.complaint.unit_required"),
    statements.DEADLINE_NOT_AFTER_TODAY: N_("complaint.error.complaint.deadline_not_after_today"),
}


def read_statement_request(data: FormInput, today: dt.date) -> schemas.StatementRequestCreate | None:
    unit_id = data.uuid_choice("unit_id", required=False)
    question = data.text("question", required=True, max_length=schemas.MAX_TEXT)
    facts = data.text("released_facts", max_length=schemas.MAX_TEXT) or ""
    deadline = data.date("deadline")
    show_field_errors(data, statements.deadline_errors(deadline, today), STATEMENT_REQUEST_ERRORS)
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


# The messages of the back-dating rules on the case page's date fields (`backdating.date_errors`); the
# order rule's message is the step's own (`case.PastDate`).
PAST_DATE_ERRORS: Mapping[str, str] = {
    backdating.DATE_IN_FUTURE: N_("office.past_date.error.future"),
    backdating.BEFORE_OFFICE_OPENED: N_("office.past_date.error.before_opening"),
}


def read_close(data: FormInput) -> schemas.CloseCreate:
    """The close form: a button, and for the lead a date in the past (read by `case.office_action`)."""
    return schemas.CloseCreate()


def read_forwarding(data: FormInput) -> schemas.ForwardCreate | None:
    reason = data.choice("forward_reason", ForwardReason)
    return schemas.ForwardCreate(reason=reason) if reason else None


def read_office_message(data: FormInput) -> schemas.OfficeMessageCreate | None:
    visibility = data.choice("visibility", MessageVisibility)
    body = data.text("message_body", required=True, max_length=schemas.MAX_TEXT)
    return schemas.OfficeMessageCreate(body=body, visibility=visibility) if body and visibility else None


def no_input(data: FormInput) -> None:
    """A step that is only a button (resume, withdraw)."""
