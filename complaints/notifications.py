"""What the complaint domain tells whom: its kinds of notification, who receives each, and the
complainant's address for the e-mail sender.

Every event is written by the use case or the deadline job that makes the change, in its transaction
(`referral_service.notifications.service.notify`). The recipients are the users whose work the event is
AND who can open the page it links to, by the repository's scope (`repository.complaint_scope`,
`statement_request_scope`):

- a complaint someone holds: that person (a handler, or a lead); one nobody holds, or whose holder has
  left: the complaints office's leads, who see every complaint and distribute them;
- a statement request: the police supervisors of the unit it is addressed to, the only ones who see and
  answer it;
- the complainant of a named complaint who left an e-mail address: "there is news", when the office
  has written something for them to read (a message, the decision, the hand-over to another
  authority). Anonymous complainants and those without an address are never written to.

A notification says no more than its kind, the complaint's reference, a deadline's date and a page's
path; the complainant's link is the public page where they sign in with reference and access code.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from complaints import paths, repository
from complaints.domain import ComplainantKind, ComplaintStatus
from complaints.models import Complaint, StatementRequest
from crypto import DecryptionError, KeyDestroyedError
from referral_service.identity.roles import Role
from referral_service.keys.fields import open_fields
from referral_service.keys.service import CaseKeys
from referral_service.notifications.kinds import EmailMode, NotificationKind
from referral_service.notifications.service import Occurrence, notify, notify_complainant, users_holding

# Default e-mail modes (the in-app list is on for every kind and role). At once where one person must
# act on one complaint; once a day where leads get the kind for every complaint nobody holds and see the
# same in their queue; police supervisors at once, since they open the service only when asked.
ASSIGNED = NotificationKind(
    "complaints.assigned",
    "notification.complaints.assigned",
    # The answer deadline now runs for this one person.
    {Role.COMPLAINTS_HANDLER: EmailMode.IMMEDIATE, Role.COMPLAINTS_LEAD: EmailMode.IMMEDIATE},
)
STATEMENT_REQUESTED = NotificationKind(
    "complaints.statement_requested",
    "notification.complaints.statement_requested",
    # The unit's statement deadline runs from today.
    {Role.POLICE_SUPERVISOR: EmailMode.IMMEDIATE},
)
STATEMENT_RECEIVED = NotificationKind(
    "complaints.statement_received",
    "notification.complaints.statement_received",
    # With the (last) answer the answer deadline's clock runs again: whoever holds the complaint goes on.
    {Role.COMPLAINTS_HANDLER: EmailMode.IMMEDIATE, Role.COMPLAINTS_LEAD: EmailMode.IMMEDIATE},
)
COMPLAINANT_WROTE = NotificationKind(
    "complaints.complainant_wrote",
    "notification.complaints.complainant_wrote",
    # The handler's own complaint, and the complainant may wait for an answer: at once. Leads get it for
    # complaints nobody holds yet, which their queue shows as waiting anyway: once a day.
    {Role.COMPLAINTS_HANDLER: EmailMode.IMMEDIATE, Role.COMPLAINTS_LEAD: EmailMode.DIGEST},
)
DEADLINE_SOON = NotificationKind(
    "complaints.deadline_soon",
    "notification.complaints.deadline_soon",
    # The holder has only their own complaints: at once. Leads get one for every complaint nobody holds
    # and see "due soon" in the queue: once a day.
    {Role.COMPLAINTS_HANDLER: EmailMode.IMMEDIATE, Role.COMPLAINTS_LEAD: EmailMode.DIGEST},
)
STATEMENT_DEADLINE_SOON = NotificationKind(
    "complaints.statement_deadline_soon",
    "notification.complaints.statement_deadline_soon",
    {Role.POLICE_SUPERVISOR: EmailMode.IMMEDIATE},
)
NEWS_FOR_COMPLAINANT = NotificationKind(
    "complaints.news_for_complainant",
    "notification.complaints.news_for_complainant",
    to_complainant=True,
)
KINDS = (
    ASSIGNED,
    STATEMENT_REQUESTED,
    STATEMENT_RECEIVED,
    COMPLAINANT_WROTE,
    DEADLINE_SOON,
    STATEMENT_DEADLINE_SOON,
    NEWS_FOR_COMPLAINANT,
)


async def assigned(
    session: AsyncSession, complaint: Complaint, *, now: dt.datetime, actor_id: uuid.UUID
) -> None:
    """The complaint was given to someone (nobody is told of taking a complaint on themselves)."""
    if complaint.assignee_id is not None:
        await _notify(session, ASSIGNED, complaint, [complaint.assignee_id], now=now, actor_id=actor_id)


async def statement_requested(
    session: AsyncSession, request: StatementRequest, reference: str, *, now: dt.datetime, actor_id: uuid.UUID
) -> None:
    """A statement was asked of a police unit: its supervisors, on the request's page."""
    await _notify_unit(session, STATEMENT_REQUESTED, request, reference, now=now, actor_id=actor_id)


async def statement_received(
    session: AsyncSession, complaint: Complaint, *, now: dt.datetime, actor_id: uuid.UUID
) -> None:
    """A police unit answered a statement request of the complaint."""
    recipients = await _who_acts(session, complaint)
    await _notify(session, STATEMENT_RECEIVED, complaint, recipients, now=now, actor_id=actor_id)


async def complainant_wrote(session: AsyncSession, complaint: Complaint, *, now: dt.datetime) -> None:
    """The complainant sent a message or a file on their own page."""
    recipients = await _who_acts(session, complaint)
    await _notify(session, COMPLAINANT_WROTE, complaint, recipients, now=now)


async def answer_deadline_soon(session: AsyncSession, complaint: Complaint, *, now: dt.datetime) -> None:
    """The office's answer deadline approaches: once per deadline and recipient (a deadline moved by a
    statement's pause, or a new holder, is reminded of again)."""
    if complaint.deadline_on is None:
        return
    recipients = await _who_acts(session, complaint)
    dedupe = f"{complaint.id}:{complaint.deadline_on.isoformat()}"
    await _notify(
        session, DEADLINE_SOON, complaint, recipients, now=now, deadline=complaint.deadline_on, dedupe=dedupe
    )


async def statement_deadline_soon(
    session: AsyncSession, request: StatementRequest, reference: str, *, now: dt.datetime
) -> None:
    """A statement request's deadline approaches: its unit's supervisors, once per deadline."""
    dedupe = f"{request.id}:{request.deadline_on.isoformat()}"
    await _notify_unit(session, STATEMENT_DEADLINE_SOON, request, reference, now=now, dedupe=dedupe)


async def news_for_complainant(session: AsyncSession, complaint: Complaint, *, now: dt.datetime) -> None:
    """The office wrote something for the complainant to read: an e-mail saying only that there is
    news, in the complaint's language, for a named complainant who left an address (whether there is
    one is known without decrypting it: the column is empty without an address)."""
    if (
        complaint.complainant_kind == ComplainantKind.ANONYMOUS.value
        or complaint.email is None
        or complaint.status == ComplaintStatus.WITHDRAWN.value
    ):
        return
    occurrence = Occurrence(
        NEWS_FOR_COMPLAINANT,
        subject_id=complaint.id,
        reference=complaint.reference,
        link=paths.COMPLAINANT_ACCESS,
    )
    await notify_complainant(session, occurrence, language=complaint.language, now=now)


async def contact_address(session: AsyncSession, keys: CaseKeys, complaint_id: uuid.UUID) -> str | None:
    """The complainant's address for the e-mail sender (`Domain.contact_address`; the sender audits the
    read). None when there is none to write to: no address, a withdrawn complaint (the complainant
    ended the matter), or one whose personal data has been erased."""
    complaint = await repository.get_complaint_unscoped(session, complaint_id)
    if (
        complaint is None
        or complaint.email is None
        or complaint.data_key_id is None
        or complaint.status == ComplaintStatus.WITHDRAWN.value
    ):
        return None
    try:
        key = await keys.get(session, complaint.data_key_id)
        return open_fields(complaint, key, ["email"])["email"]
    except (KeyDestroyedError, DecryptionError):
        return None


async def _who_acts(session: AsyncSession, complaint: Complaint) -> list[uuid.UUID]:
    """Whoever must act on the complaint: its holder while they are an active member of the office,
    else the leads (a handler who left keeps their complaints until a lead moves them)."""
    holder = complaint.assignee_id
    if holder is not None and await repository.is_active_office_user(session, holder):
        return [holder]
    return await users_holding(session, [Role.COMPLAINTS_LEAD], await repository.office_unit_ids(session))


async def _notify(
    session: AsyncSession,
    kind: NotificationKind,
    complaint: Complaint,
    recipients: list[uuid.UUID],
    *,
    now: dt.datetime,
    actor_id: uuid.UUID | None = None,
    deadline: dt.date | None = None,
    dedupe: str | None = None,
) -> None:
    occurrence = Occurrence(
        kind,
        subject_id=complaint.id,
        reference=complaint.reference,
        link=paths.case_page(complaint.id),
        deadline=deadline,
        dedupe=dedupe,
    )
    await notify(session, occurrence, recipients, now=now, actor_id=actor_id)


async def _notify_unit(
    session: AsyncSession,
    kind: NotificationKind,
    request: StatementRequest,
    reference: str,
    *,
    now: dt.datetime,
    actor_id: uuid.UUID | None = None,
    dedupe: str | None = None,
) -> None:
    # The statement request's scope: the supervisors of the unit it is addressed to.
    recipients = await users_holding(session, [Role.POLICE_SUPERVISOR], [request.unit_id])
    occurrence = Occurrence(
        kind,
        # The complaint, as for every notification of the domain: erased with it.
        subject_id=request.complaint_id,
        reference=reference,
        link=paths.statement_request_page(request.id),
        deadline=request.deadline_on,
        dedupe=dedupe,
    )
    await notify(session, occurrence, recipients, now=now, actor_id=actor_id)
