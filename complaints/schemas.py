"""Request and response types of the complaints API (msgspec; `X` / `XCreate`).

Request types refuse unknown fields, so a misspelt field is an error rather than silently dropped.
Lengths are limited here, once; the access code appears only in `SubmissionReceipt` (shown once) and
`AccessRequest`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from complaints.domain import (
    Category,
    Channel,
    ComplainantKind,
    ComplainantLanguage,
    ComplaintStatus,
    ComplaintType,
    ForwardReason,
    MessageVisibility,
    NoDecisionReason,
    Outcome,
    PublicStatus,
)
from referral_service.values import Email, Phone

MAX_TEXT = 20_000

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Address = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Place = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]
OptionalLongText = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
ReferenceText = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
AccessCodeText = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
# Further content categories besides the primary `category` (repeats and the primary are ignored).
FurtherCategories = Annotated[list[Category], msgspec.Meta(max_length=len(Category))]
# A past moment with its UTC offset ("2017-03-01T09:30:00+01:00"), for entering earlier years: only
# holders of complaint:complaint:backdate; never in the future or before the office opened.
PastMoment = Annotated[dt.datetime, msgspec.Meta(tz=True)]


class _Request(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


# Intake


class ComplaintCreate(_Request, kw_only=True):
    """A complaint from the public form (channel: web)."""

    complaint_type: ComplaintType = ComplaintType.COMPLAINT
    # For a follow-up: the earlier complaint's reference ("BS-2026-000123").
    follow_up_of: ReferenceText | None = None
    complainant_kind: ComplainantKind
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    address: Address | None = None
    # Ask that only the lead of the office learns who complained (always so for police employees).
    identity_confidential: bool = False
    category: Category
    description: LongText
    incident_date: dt.date | None = None
    place: Place | None = None
    police_unit_id: uuid.UUID | None = None
    # The language of the e-mails telling the complainant that there is news (the public form sends
    # the page's); any other code is refused rather than silently written to in German.
    language: ComplainantLanguage = ComplainantLanguage.DE


class StaffComplaintCreate(ComplaintCreate, kw_only=True):
    """A complaint received by letter, e-mail, fax, phone or in person, entered by the office."""

    channel: Channel
    # The office counts every area a complaint concerns (`category` is the primary one); the public
    # form leaves this to the office's triage.
    further_categories: FurtherCategories = msgspec.field(default_factory=list)
    # Historical entry: when the office received it (None: now).
    received_at: PastMoment | None = None


class SubmissionReceipt(msgspec.Struct, kw_only=True):
    reference: str
    # Shown once. Only a hash is stored: the office cannot tell it again.
    access_code: str
    received_at: dt.datetime
    status: PublicStatus
    follow_up: str = (
        "With the reference and the access code you can read the status and replies of your complaint "
        "and write to the office. Keep the code safe: it cannot be shown again."
    )


# Complainant access


class AccessRequest(_Request):
    reference: ReferenceText
    access_code: AccessCodeText


class ComplainantSessionStarted(msgspec.Struct, kw_only=True):
    token: str
    token_type: str
    expires_at: dt.datetime


class MessageCreate(_Request):
    body: LongText


class PublicMessage(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    author: str  # "complainant" or "office"
    body: str
    created_at: dt.datetime


class AttachmentInfo(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    uploaded_at: dt.datetime


class ComplainantView(msgspec.Struct, kw_only=True):
    reference: str
    complaint_type: ComplaintType
    category: Category
    category_label: str
    status: PublicStatus
    received_at: dt.datetime
    decided_at: dt.datetime | None
    closed_at: dt.datetime | None
    outcome: Outcome | None
    outcome_label: str | None
    messages: list[PublicMessage]
    attachments: list[AttachmentInfo]


class CategoryOption(msgspec.Struct, kw_only=True):
    value: Category
    label: str


# Office


class Complainant(msgspec.Struct, kw_only=True):
    name: str | None
    email: str | None
    phone: str | None
    address: str | None


class ComplaintSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    reference: str
    complaint_type: ComplaintType
    complainant_kind: ComplainantKind
    from_police_staff: bool
    channel: Channel
    category: Category
    status: ComplaintStatus
    police_unit_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    received_at: dt.datetime
    deadline: dt.date | None
    overdue: bool


class HandlerWorkload(msgspec.Struct, kw_only=True):
    """Open complaints of one member of the office (`assignee_id` None: nobody has taken them)."""

    assignee_id: uuid.UUID | None
    name: str | None
    open: int
    overdue: int
    due_soon: int


class DecisionDraft(msgspec.Struct, kw_only=True):
    outcome: Outcome
    no_decision_reason: NoDecisionReason | None
    criminal_investigation: bool
    disciplinary_proceedings: bool
    reply: str | None
    drafted_by_id: uuid.UUID | None
    drafted_at: dt.datetime | None


class OfficeStatementRequest(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    unit_id: uuid.UUID
    question: str
    released_facts: str
    deadline: dt.date
    requested_on: dt.date
    answered_at: dt.datetime | None
    answer: str | None
    disclosure_approved_at: dt.datetime | None
    overdue: bool


class ComplaintDetail(ComplaintSummary, kw_only=True):
    # Besides the primary `category`, in code order.
    further_categories: list[Category]
    # None when the caller may not see who complained (identity_withheld) or nobody was named.
    complainant: Complainant | None
    identity_withheld: bool
    identity_confidential: bool
    description: str
    place: str | None
    incident_date: dt.date | None
    follow_up_of_id: uuid.UUID | None
    follow_up_reference: str | None
    outcome: Outcome | None
    no_decision_reason: NoDecisionReason | None
    criminal_investigation: bool
    disciplinary_proceedings: bool
    forward_reason: ForwardReason | None
    decided_at: dt.datetime | None
    closed_at: dt.datetime | None
    draft: DecisionDraft | None
    statement_requests: list[OfficeStatementRequest]
    attachments: list[AttachmentInfo]


class AssignmentCreate(_Request):
    assignee_id: uuid.UUID


class TriageUpdate(_Request, kw_only=True):
    # The primary category; a new one replaces the old primary (which is not kept as a further one).
    category: Category | None = None
    # None: unchanged; a list (also empty) replaces the further categories.
    further_categories: FurtherCategories | None = None
    police_unit_id: uuid.UUID | None = None
    identity_confidential: bool | None = None
    # False: only start the triage (received -> triage); True: also finish it (-> in_progress).
    complete: bool = True


class StatementRequestCreate(_Request, kw_only=True):
    # Default: the police unit concerned named on the complaint.
    unit_id: uuid.UUID | None = None
    question: LongText
    released_facts: OptionalLongText = ""
    # Default: the configured number of working days from today.
    deadline: dt.date | None = None


class DecisionCreate(_Request, kw_only=True):
    outcome: Outcome
    no_decision_reason: NoDecisionReason | None = None
    criminal_investigation: bool = False
    disciplinary_proceedings: bool = False
    # The reply the complainant reads (a message with visibility "complainant").
    reply: LongText | None = None
    # False: save as a draft (handlers and leads); True: decide (leads only).
    final: bool = False
    # Historical entry, with `final` only: when the decision was taken (None: now).
    decided_at: PastMoment | None = None


class CloseCreate(_Request, kw_only=True):
    # Historical entry: when the complaint was closed (None: now).
    closed_at: PastMoment | None = None


class ForwardCreate(_Request):
    reason: ForwardReason


class OfficeMessageCreate(_Request, kw_only=True):
    body: LongText
    visibility: MessageVisibility = MessageVisibility.INTERNAL


class OfficeMessage(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    visibility: MessageVisibility
    author_kind: str
    author_id: uuid.UUID | None
    body: str
    created_at: dt.datetime


class DisclosureApprovalCreate(_Request):
    statement_request_id: uuid.UUID


# Police units (statement requests addressed to them)


class UnitStatementRequestSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    complaint_reference: str
    category: Category
    category_label: str
    deadline: dt.date
    requested_on: dt.date
    answered_at: dt.datetime | None
    overdue: bool


class UnitStatementRequest(UnitStatementRequestSummary, kw_only=True):
    question: str
    released_facts: str
    answer: str | None
    disclosure_approved: bool
    # Only once the lead of the complaints office has approved disclosure to this unit.
    complainant: Complainant | None


class StatementAnswerCreate(_Request):
    answer: LongText
