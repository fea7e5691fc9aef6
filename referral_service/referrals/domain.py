"""The referral vocabulary and state machine. No I/O here."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from referral_service.referrals.errors import InvalidTransitionError
from referral_service.workflow import TransitionTable


class ReferralStatus(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    CONTACT_ATTEMPTED = "contact_attempted"
    IN_CONTACT = "in_contact"
    CLOSED = "closed"
    DECLINED_BY_BRANCH = "declined_by_branch"  # back to the state office for routing
    WITHDRAWN = "withdrawn"  # consent withdrawn: personal data destroyed


class ReferralAction(StrEnum):
    ACCEPT = "accept"
    ASSIGN = "assign"
    DECLINE = "decline"
    ROUTE = "route"
    RECORD_CONTACT_ATTEMPT = "record_contact_attempt"
    RECORD_FIRST_CONTACT = "record_first_contact"
    CLOSE = "close"
    WITHDRAW_CONSENT = "withdraw_consent"


S = ReferralStatus
OPEN_STATES = frozenset(set(S) - {S.CLOSED, S.WITHDRAWN})
# The states in which the first-contact deadline runs (until a first contact is recorded).
CONTACT_DEADLINE_STATES = frozenset({S.SUBMITTED, S.ACCEPTED, S.CONTACT_ATTEMPTED})

A = ReferralAction

# The transition table: every step there is, listed once as (state, action) -> next state; what is
# not listed is refused (409). Each state's steps are listed with its usual next step first (the case
# page offers the first one the user may take and folds the others away): a new case is given to a
# volunteer or taken on, an accepted one waits for the first contact, a case in contact for its close.
# A branch lead assigning a case nobody has accepted yet accepts it for the branch; assigning an
# accepted case gives it to another volunteer and keeps its state. Consent can be withdrawn in every
# open state.
TRANSITIONS: Mapping[tuple[ReferralStatus, ReferralAction], ReferralStatus] = {
    (S.SUBMITTED, A.ASSIGN): S.ACCEPTED,
    (S.SUBMITTED, A.ACCEPT): S.ACCEPTED,
    (S.SUBMITTED, A.DECLINE): S.DECLINED_BY_BRANCH,
    (S.SUBMITTED, A.ROUTE): S.SUBMITTED,
    (S.SUBMITTED, A.WITHDRAW_CONSENT): S.WITHDRAWN,
    (S.DECLINED_BY_BRANCH, A.ROUTE): S.SUBMITTED,
    (S.DECLINED_BY_BRANCH, A.WITHDRAW_CONSENT): S.WITHDRAWN,
    (S.ACCEPTED, A.RECORD_FIRST_CONTACT): S.IN_CONTACT,
    (S.ACCEPTED, A.RECORD_CONTACT_ATTEMPT): S.CONTACT_ATTEMPTED,
    (S.ACCEPTED, A.CLOSE): S.CLOSED,
    (S.ACCEPTED, A.ASSIGN): S.ACCEPTED,
    (S.ACCEPTED, A.WITHDRAW_CONSENT): S.WITHDRAWN,
    (S.CONTACT_ATTEMPTED, A.RECORD_FIRST_CONTACT): S.IN_CONTACT,
    (S.CONTACT_ATTEMPTED, A.RECORD_CONTACT_ATTEMPT): S.CONTACT_ATTEMPTED,
    (S.CONTACT_ATTEMPTED, A.CLOSE): S.CLOSED,
    (S.CONTACT_ATTEMPTED, A.ASSIGN): S.CONTACT_ATTEMPTED,
    (S.CONTACT_ATTEMPTED, A.WITHDRAW_CONSENT): S.WITHDRAWN,
    (S.IN_CONTACT, A.CLOSE): S.CLOSED,
    (S.IN_CONTACT, A.ASSIGN): S.IN_CONTACT,
    (S.IN_CONTACT, A.WITHDRAW_CONSENT): S.WITHDRAWN,
}


def _refuse(status: ReferralStatus, action: ReferralAction) -> InvalidTransitionError:
    return InvalidTransitionError(
        f"'{action.value}' is not possible for a referral in state '{status.value}'.",
        extra={"current_status": status.value, "action": action.value},
    )


WORKFLOW = TransitionTable(ReferralStatus, TRANSITIONS, _refuse)
allows = WORKFLOW.allows
next_status = WORKFLOW.next_status


class OffenceCategory(StrEnum):
    """Plain, for statistics (the cooperation report counts them). The areas follow the groups the
    WEISSER RING's case statistics and the police crime statistics (PKS) report apart, so that the
    report's figures can be set beside theirs; the mapping and its sources are in docs/referrals.md."""

    CHILD_SEXUAL_ABUSE = "child_sexual_abuse"  # sexueller Missbrauch von Kindern, §§ 176-176e StGB
    RAPE_SEXUAL_ASSAULT = "rape_sexual_assault"  # Vergewaltigung, sexuelle Nötigung, sexueller Übergriff
    OTHER_SEXUAL_OFFENCE = "other_sexual_offence"  # sonstige Straftaten gegen die sexuelle Selbstbestimmung
    # Referrals recorded before the split (migration 0014): which of the three it was is not known, and
    # guessing would invent figures. Kept for them only; a new referral or a correction cannot choose it.
    SEXUAL_OFFENCE_UNSPECIFIED = "sexual_offence_unspecified"  # Sexualdelikt, nicht näher bestimmt
    DOMESTIC_VIOLENCE = "domestic_violence"  # häusliche Gewalt (Partnerschaft, Familie)
    BODILY_HARM = "bodily_harm"  # Körperverletzung außerhalb häuslicher Gewalt
    STALKING = "stalking"  # Nachstellung
    THREAT = "threat"  # Bedrohung
    ROBBERY = "robbery"  # Raub
    BURGLARY = "burglary"  # Wohnungseinbruch
    FRAUD = "fraud"  # Betrug
    HOMICIDE_RELATIVES = "homicide_relatives"  # Angehörige von Tötungsopfern
    OTHER = "other"


# What the police may choose for a new referral or in a correction (everything but the legacy area).
SELECTABLE_OFFENCES: tuple[OffenceCategory, ...] = tuple(
    category for category in OffenceCategory if category is not OffenceCategory.SEXUAL_OFFENCE_UNSPECIFIED
)


class SupportKind(StrEnum):
    """Requested support and support given (sets of these)."""

    PERSONAL_SUPPORT = "personal_support"  # menschlicher Beistand, persönliche Betreuung
    ACCOMPANIMENT = "accompaniment"  # Begleitung zu Polizei, Gericht, Behörden
    LEGAL_ADVICE_VOUCHER = "legal_advice_voucher"  # Beratungsscheck für anwaltliche Erstberatung
    PSYCHOTRAUMA_VOUCHER = "psychotrauma_voucher"  # Beratungsscheck psychotraumatologische Erstberatung
    FINANCIAL_AID = "financial_aid"  # finanzielle Hilfe in Notlagen
    REFERRAL_TO_OTHER_SERVICES = "referral_to_other_services"  # Vermittlung an andere Hilfen


class Urgency(StrEnum):
    NORMAL = "normal"
    HIGH = "high"


class ConsentGiver(StrEnum):
    VICTIM = "victim"
    LEGAL_REPRESENTATIVE = "legal_representative"  # gesetzliche Vertretung, e.g. for a child


class ConsentForm(StrEnum):
    WRITTEN = "written"
    ORAL = "oral"
    ELECTRONIC = "electronic"


class ConsentScope(StrEnum):
    """What the victim agreed to; only this scope allows a referral."""

    TRANSFER_TO_WR_FOR_CONTACT_AND_SUPPORT = "transfer_to_wr_for_contact_and_support"


class ContactChannel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    LETTER = "letter"
    VISIT = "visit"
    SMS = "sms"


class CloseOutcome(StrEnum):
    SUPPORTED = "supported"
    DECLINED_BY_VICTIM = "declined_by_victim"
    UNREACHABLE = "unreachable"


# Which outcome may close from which state: support needs contact; "unreachable" means there was none.
CLOSE_FROM: Mapping[CloseOutcome, frozenset[ReferralStatus]] = {
    CloseOutcome.SUPPORTED: frozenset({S.IN_CONTACT}),
    CloseOutcome.DECLINED_BY_VICTIM: frozenset({S.CONTACT_ATTEMPTED, S.IN_CONTACT}),
    CloseOutcome.UNREACHABLE: frozenset({S.ACCEPTED, S.CONTACT_ATTEMPTED}),
}


class DeclineReason(StrEnum):
    NO_CAPACITY = "no_capacity"
    OUT_OF_AREA = "out_of_area"
    CONFLICT_OF_INTEREST = "conflict_of_interest"
    LANGUAGE_NOT_AVAILABLE = "language_not_available"
    OTHER = "other"


class DeadlineState(StrEnum):
    """Where a case stands with its deadlines (acceptance, first contact); lists show and filter it."""

    OVERDUE = "overdue"  # a deadline has passed
    DUE_SOON = "due_soon"  # a deadline passes within the policy's `due_soon_within`
    RUNNING = "running"  # a deadline runs, not yet close
    NONE = "none"  # no deadline runs (first contact made, closed, declined, withdrawn)


class Deadline(StrEnum):
    """The deadlines a referral runs against, counted from its submission (`policy.deadlines`)."""

    ACCEPT = "accept"  # a branch accepts it
    FIRST_CONTACT = "first_contact"  # someone of the branch reaches the victim


class QueueReason(StrEnum):
    """Why a case is in the state office's queue."""

    NO_BRANCH = "no_branch"  # no branch serves the postcode
    DECLINED = "declined"  # the branch declined it
    ESCALATED = "escalated"  # no first contact within the deadline


class EscalationLevel:
    NONE = 0
    BRANCH_LEAD = 1  # not accepted within the acceptance deadline
    STATE_OFFICE = 2  # no first contact within the contact deadline
