"""Request and response types of the referral API (msgspec: validated at the edge, 422 on bad input)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from referral_service.referrals.domain import (
    CloseOutcome,
    ConsentForm,
    ConsentGiver,
    ConsentScope,
    ContactChannel,
    DeadlineState,
    DeclineReason,
    OffenceCategory,
    QueueReason,
    ReferralStatus,
    SupportKind,
    Urgency,
)
from referral_service.values import DayOrMonth, Email, Phone, Postcode

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)]
Language = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2,3}$")]


class Consent(msgspec.Struct, forbid_unknown_fields=True):
    """The victim's documented consent (Art. 7 GDPR); the recording officer is the caller."""

    given_by: ConsentGiver
    given_at: Annotated[
        dt.datetime,
        msgspec.Meta(
            description="When the victim consented, with a time zone: not in the future (five minutes' "
            "grace for clocks) and no older than the consent age the service accepts (30 days by default)."
        ),
    ]
    form: ConsentForm
    scope: ConsentScope


class Victim(msgspec.Struct, forbid_unknown_fields=True):
    """The victim; at least one way to reach them (phone, e-mail, or street and city with the postcode),
    and the preferred way one of those given: checked by the use case (`intake.contact_errors`)."""

    name: Text
    postcode: Postcode
    phone: Annotated[Phone, msgspec.Meta(examples=["0351 4832 100"])] | None = None
    email: Email | None = None
    street_address: Text | None = None
    city: Text | None = None
    preferred_channel: ContactChannel | None = None
    date_of_birth: dt.date | None = None
    contact_preferences: Text | None = None
    accessibility_needs: Text | None = None
    language: Language = "de"
    interpreter_needed: bool = False


class ReferralCreate(msgspec.Struct, forbid_unknown_fields=True):
    victim: Victim
    consent: Consent
    offence_category: OffenceCategory
    # To the day, or only to the month when the day is not known ("2026-11-14", "2026-11"); not in the future.
    incident_date: DayOrMonth
    circumstances: LongText
    requested_support: list[SupportKind] = msgspec.field(default_factory=list)
    hate_crime: bool = False
    case_number: Annotated[str, msgspec.Meta(min_length=3, max_length=40)] | None = None
    urgency: Urgency = Urgency.NORMAL


class VictimUpdate(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: Text | None = None
    postcode: Postcode | None = None
    phone: Phone | None = None
    email: Email | None = None
    street_address: Text | None = None
    city: Text | None = None
    preferred_channel: ContactChannel | None = None
    date_of_birth: dt.date | None = None
    contact_preferences: Text | None = None
    accessibility_needs: Text | None = None


class ReferralUpdate(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A correction by the police before acceptance; only the fields given change."""

    victim: VictimUpdate | None = None
    offence_category: OffenceCategory | None = None
    incident_date: DayOrMonth | None = None
    circumstances: LongText | None = None
    case_number: Annotated[str, msgspec.Meta(min_length=3, max_length=40)] | None = None
    requested_support: list[SupportKind] | None = None
    urgency: Urgency | None = None
    hate_crime: bool | None = None


class Decline(msgspec.Struct, forbid_unknown_fields=True):
    reason: DeclineReason


class Assign(msgspec.Struct, forbid_unknown_fields=True):
    assignee_id: uuid.UUID


class Route(msgspec.Struct, forbid_unknown_fields=True):
    branch_id: uuid.UUID


class ContactAttemptCreate(msgspec.Struct, forbid_unknown_fields=True):
    channel: ContactChannel
    attempted_at: dt.datetime | None = None


class FirstContact(msgspec.Struct, forbid_unknown_fields=True):
    channel: ContactChannel
    contacted_at: dt.datetime | None = None


class Close(msgspec.Struct, forbid_unknown_fields=True):
    outcome: CloseOutcome
    support_given: list[SupportKind] = msgspec.field(default_factory=list)


class Deadlines(msgspec.Struct):
    accept_by: dt.datetime
    first_contact_by: dt.datetime
    accept_overdue: bool
    first_contact_overdue: bool
    escalation_level: int


class ReferralSummary(msgspec.Struct):
    """A row of a list: no personal data, so lists never decrypt."""

    id: uuid.UUID
    reference: str  # "VM-2026-000123", for people to quote
    status: ReferralStatus
    offence_category: OffenceCategory
    urgency: Urgency
    incident_date: str  # to the month only ("2026-11"): the day is personal data, and lists never decrypt
    submitted_at: dt.datetime
    branch_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    deadlines: Deadlines
    # Where the case stands with its deadlines (the list's `deadline` filter asks the same).
    deadline_state: DeadlineState
    hate_crime: bool
    language: str
    interpreter_needed: bool
    # Why it is in the state office's queue (null when it is not); who declined it, and why.
    queue_reason: QueueReason | None
    declined_by_branch_id: uuid.UUID | None
    decline_reason: DeclineReason | None
    routed_at: dt.datetime | None


class CaseNumberSearch(msgspec.Struct, forbid_unknown_fields=True):
    """A search by the police case number: in a request body, since the number is personal data and a
    URL's query ends up in logs and browser histories."""

    case_number: Annotated[str, msgspec.Meta(min_length=3, max_length=40)]


class VictimOut(msgspec.Struct, omit_defaults=True):
    name: str | None = None
    postcode: str | None = None
    phone: str | None = None
    email: str | None = None
    street_address: str | None = None
    city: str | None = None
    preferred_channel: ContactChannel | None = None
    date_of_birth: str | None = None
    contact_preferences: str | None = None
    accessibility_needs: str | None = None
    language: str = "de"
    interpreter_needed: bool = False


class ReferralDetail(msgspec.Struct):
    id: uuid.UUID
    reference: str
    status: ReferralStatus
    offence_category: OffenceCategory
    hate_crime: bool
    incident_date: str  # as precise as it was given: "2026-11-14", or "2026-11" when the day is not known
    urgency: Urgency
    requested_support: list[SupportKind]
    circumstances: str | None
    case_number: str | None
    victim: VictimOut
    contact_data_withheld: bool
    referring_station_id: uuid.UUID
    branch_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    submitted_at: dt.datetime
    accepted_at: dt.datetime | None
    first_contact_at: dt.datetime | None
    closed_at: dt.datetime | None
    close_outcome: CloseOutcome | None
    support_given: list[SupportKind]
    decline_reason: DeclineReason | None
    deadlines: Deadlines
    repeat_of_id: uuid.UUID | None = None


class Feedback(msgspec.Struct):
    """What the referring station learns ("Rückkopplung"): status, dates and outcome codes only."""

    id: uuid.UUID
    reference: str
    status: ReferralStatus
    submitted_at: dt.datetime
    accepted_at: dt.datetime | None
    first_contact_at: dt.datetime | None
    closed_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
    close_outcome: CloseOutcome | None
    support_given: list[SupportKind]
    # First contact within the contact deadline (REFERRAL_CONTACT_DEADLINE_HOURS, given beside it);
    # null while the deadline runs and no contact is recorded.
    contacted_within_deadline: bool | None
    contact_deadline_hours: int
