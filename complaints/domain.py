"""The complaint vocabulary and state machine. No I/O here.

English names in code; the German terms the Saxon complaints office uses appear once, as labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from complaints.errors import InvalidTransitionError
from referral_service.workflow import TransitionTable


class ComplaintType(StrEnum):
    COMPLAINT = "complaint"  # Beschwerde
    OTHER_CONCERN = "other_concern"  # sonstiges Anliegen
    FOLLOW_UP = "follow_up"  # Folgebeschwerde, linked to an earlier complaint


class ComplainantKind(StrEnum):
    CITIZEN = "citizen"  # Bürgerin / Bürger
    POLICE_EMPLOYEE = "police_employee"  # Bedienstete der Polizei
    ORGANISATION = "organisation"  # Organisation, Verband
    ANONYMOUS = "anonymous"  # anonym


class Channel(StrEnum):
    """How the complaint reached the office (the annual report counts channels)."""

    WEB = "web"  # Online-Formular / API
    LETTER = "letter"  # Brief
    EMAIL = "email"  # E-Mail
    FAX = "fax"  # Faxschreiben
    PHONE = "phone"  # Telefon
    IN_PERSON = "in_person"  # persönliche Vorsprache


STAFF_CHANNELS = frozenset({Channel.LETTER, Channel.EMAIL, Channel.FAX, Channel.PHONE, Channel.IN_PERSON})


class Category(StrEnum):
    """Content categories as the Saxon office publishes them."""

    DANGER_PREVENTION = "danger_prevention"
    TRAFFIC_POLICING = "traffic_policing"
    CRIMINAL_PROSECUTION = "criminal_prosecution"
    CONDUCT_ON_DUTY = "conduct_on_duty"
    CONDUCT_OFF_DUTY = "conduct_off_duty"
    OTHER = "other"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS: Mapping[Category, str] = {
    Category.DANGER_PREVENTION: "Gefahrenabwehr",
    Category.TRAFFIC_POLICING: "verkehrspolizeiliche Arbeit",
    Category.CRIMINAL_PROSECUTION: "Strafverfolgung",
    Category.CONDUCT_ON_DUTY: "Verhalten im Dienst",
    Category.CONDUCT_OFF_DUTY: "außerdienstliches Verhalten",
    Category.OTHER: "Sonstiges",
}


class ComplainantLanguage(StrEnum):
    """The language of the service's messages to the complainant (the "there is news" e-mail): one the
    service has texts for (`referral_service.web.i18n.LANGUAGES`), German unless asked otherwise."""

    DE = "de"
    EN = "en"


class ComplaintStatus(StrEnum):
    """Declared in the order of the main path (received ... closed), then the side exits' end states:
    `steps_on` reads "further along" from this order."""

    RECEIVED = "received"  # eingegangen
    TRIAGE = "triage"  # Erstbewertung
    IN_PROGRESS = "in_progress"  # in Bearbeitung
    STATEMENT_REQUESTED = "statement_requested"  # Stellungnahme angefordert (deadline clock paused)
    STATEMENT_RECEIVED = "statement_received"  # Stellungnahme eingegangen
    DECISION = "decision"  # entschieden
    CLOSED = "closed"  # abgeschlossen
    FORWARDED = "forwarded"  # abgegeben (not competent / to the public prosecutor)
    WITHDRAWN = "withdrawn"  # zurückgenommen


class ForwardReason(StrEnum):
    NOT_COMPETENT = "not_competent"  # Abgabe wegen Unzuständigkeit
    TO_PROSECUTOR = "to_prosecutor"  # Abgabe an die Staatsanwaltschaft


class Outcome(StrEnum):
    JUSTIFIED = "justified"  # begründet
    PARTLY_JUSTIFIED = "partly_justified"  # teilweise begründet
    UNJUSTIFIED = "unjustified"  # unbegründet
    NO_DECISION = "no_decision"  # keine Entscheidung (reason required)


OUTCOME_LABELS: Mapping[Outcome, str] = {
    Outcome.JUSTIFIED: "begründet",
    Outcome.PARTLY_JUSTIFIED: "teilweise begründet",
    Outcome.UNJUSTIFIED: "unbegründet",
    Outcome.NO_DECISION: "keine Entscheidung",
}


class NoDecisionReason(StrEnum):
    """Why no decision on the merits was possible: a code, so statistics can count it."""

    FACTS_NOT_ESTABLISHED = "facts_not_established"  # Sachverhalt nicht aufklärbar
    COMPLAINANT_NOT_COOPERATING = "complainant_not_cooperating"  # keine Mitwirkung
    PROCEEDINGS_PENDING = "proceedings_pending"  # gerichtliches Verfahren anhängig
    OTHER = "other"  # sonstiger Grund


class MessageVisibility(StrEnum):
    COMPLAINANT = "complainant"  # shown to the complainant (a reply, or their own message)
    INTERNAL = "internal"  # office only


class AuthorKind(StrEnum):
    COMPLAINANT = "complainant"
    STAFF = "staff"


class ComplaintAction(StrEnum):
    START_TRIAGE = "start_triage"
    COMPLETE_TRIAGE = "complete_triage"
    REQUEST_STATEMENT = "request_statement"
    RECEIVE_STATEMENT = "receive_statement"
    RESUME = "resume"
    DECIDE = "decide"
    CLOSE = "close"
    FORWARD = "forward"
    WITHDRAW = "withdraw"


S = ComplaintStatus
TERMINAL_STATES = frozenset({S.CLOSED, S.FORWARDED, S.WITHDRAWN})
OPEN_STATES = frozenset(set(S) - TERMINAL_STATES)
# The answer deadline runs until the office has decided.
DEADLINE_STATES = frozenset(OPEN_STATES - {S.DECISION})

A = ComplaintAction

# The transition table: every step there is, listed once as (state, action) -> next state; what is
# not listed is refused (409). Forwarding and withdrawal end a complaint that is still being worked on;
# after the final decision the only way on is closing it (the complainant reopens the matter with a
# follow-up complaint), so a decided complaint cannot turn "withdrawn" while keeping its outcome.
# Requesting a statement while another is outstanding keeps the complaint in `statement_requested`;
# receiving one while others are still outstanding keeps it there too (see the statements service).
TRANSITIONS: Mapping[tuple[ComplaintStatus, ComplaintAction], ComplaintStatus] = {
    (S.RECEIVED, A.START_TRIAGE): S.TRIAGE,
    (S.RECEIVED, A.FORWARD): S.FORWARDED,
    (S.RECEIVED, A.WITHDRAW): S.WITHDRAWN,
    (S.TRIAGE, A.COMPLETE_TRIAGE): S.IN_PROGRESS,
    (S.TRIAGE, A.FORWARD): S.FORWARDED,
    (S.TRIAGE, A.WITHDRAW): S.WITHDRAWN,
    (S.IN_PROGRESS, A.REQUEST_STATEMENT): S.STATEMENT_REQUESTED,
    (S.IN_PROGRESS, A.DECIDE): S.DECISION,
    (S.IN_PROGRESS, A.FORWARD): S.FORWARDED,
    (S.IN_PROGRESS, A.WITHDRAW): S.WITHDRAWN,
    (S.STATEMENT_REQUESTED, A.REQUEST_STATEMENT): S.STATEMENT_REQUESTED,
    (S.STATEMENT_REQUESTED, A.RECEIVE_STATEMENT): S.STATEMENT_RECEIVED,
    (S.STATEMENT_REQUESTED, A.FORWARD): S.FORWARDED,
    (S.STATEMENT_REQUESTED, A.WITHDRAW): S.WITHDRAWN,
    (S.STATEMENT_RECEIVED, A.REQUEST_STATEMENT): S.STATEMENT_REQUESTED,
    (S.STATEMENT_RECEIVED, A.RESUME): S.IN_PROGRESS,
    (S.STATEMENT_RECEIVED, A.DECIDE): S.DECISION,
    (S.STATEMENT_RECEIVED, A.FORWARD): S.FORWARDED,
    (S.STATEMENT_RECEIVED, A.WITHDRAW): S.WITHDRAWN,
    (S.DECISION, A.CLOSE): S.CLOSED,
}


def _refuse(status: ComplaintStatus, action: ComplaintAction) -> InvalidTransitionError:
    return InvalidTransitionError(
        f"'{action.value}' is not possible while the complaint is '{status.value}'.",
        extra={"current_status": status.value, "action": action.value},
    )


WORKFLOW = TransitionTable(ComplaintStatus, TRANSITIONS, _refuse)
allows = WORKFLOW.allows
next_status = WORKFLOW.next_status

# Forwarding and withdrawal leave the main path early; every other step keeps to it.
SIDE_EXITS = frozenset({A.FORWARD, A.WITHDRAW})
_PLACE = {status: index for index, status in enumerate(ComplaintStatus)}


def steps_on(status: ComplaintStatus | str) -> list[ComplaintAction]:
    """The steps of the table that move a complaint in `status` on along its main path, the shortest
    move first: what would sensibly happen next (a further statement request or resuming the work
    after an answer goes back, a side exit leaves the path; neither is "next")."""
    here = ComplaintStatus(status)
    ahead = [
        (_PLACE[target], action)
        for (state, action), target in TRANSITIONS.items()
        if state is here and action not in SIDE_EXITS and _PLACE[target] > _PLACE[here]
    ]
    return [action for _, action in sorted(ahead, key=lambda step: step[0])]


class DeadlineFilter(StrEnum):
    """Where a complaint stands against its answer deadline, as the queue filters it."""

    OVERDUE = "overdue"  # the deadline has passed and the office has not decided
    DUE_SOON = "due_soon"  # due within `ComplaintsConfig.due_soon_working_days`, not yet overdue
    PAUSED = "paused"  # a statement is outstanding: the clock stands still


class StatementRequestState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


class PublicStatus(StrEnum):
    """What the complainant sees: the office's internal steps are not their business."""

    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    DECIDED = "decided"
    CLOSED = "closed"
    FORWARDED = "forwarded"
    WITHDRAWN = "withdrawn"


PUBLIC_STATUS: Mapping[ComplaintStatus, PublicStatus] = {
    S.RECEIVED: PublicStatus.RECEIVED,
    S.TRIAGE: PublicStatus.IN_PROGRESS,
    S.IN_PROGRESS: PublicStatus.IN_PROGRESS,
    S.STATEMENT_REQUESTED: PublicStatus.IN_PROGRESS,
    S.STATEMENT_RECEIVED: PublicStatus.IN_PROGRESS,
    S.DECISION: PublicStatus.DECIDED,
    S.CLOSED: PublicStatus.CLOSED,
    S.FORWARDED: PublicStatus.FORWARDED,
    S.WITHDRAWN: PublicStatus.WITHDRAWN,
}
