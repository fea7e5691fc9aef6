"""What the referral domain tells whom: its kinds of notification, and who receives each.

Every event is written by the use case or the deadline job that makes the change, in its transaction
(`referral_service.notifications.service.notify`). The recipients are the users whose work the event is
AND who can open the case page it links to, by the rules of the repository's scope (`repository._scope`):

- a case in a branch's inbox (submitted, routed to the branch): the branch's volunteers, who may accept
  it, and its leads;
- a case given to someone: that person (a volunteer, or a lead, of the branch);
- a case without a branch, or escalated past the first-contact deadline: the state office, every one of
  whose users sees the whole queue;
- a deadline that approaches or passed: whoever must act next: the assignee, else the branch's leads,
  else (no branch) the state office.

A notification says no more than its kind, the case's reference, a deadline's date and the case page.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.roles import Role, UnitKind
from referral_service.notifications.kinds import EmailMode, NotificationKind
from referral_service.notifications.service import Occurrence, notify, users_holding
from referral_service.referrals import repository
from referral_service.referrals.domain import Deadline, EscalationLevel
from referral_service.referrals.models import Referral
from referral_service.settings import LOCAL_TIMEZONE

# Default e-mail modes (the in-app list is on for every kind and role). An e-mail goes at once where
# one person must act on one case soon; where a role gets many of a kind, or can learn it in time from
# the lists, it is in the daily digest or in-app only.
NEW_IN_BRANCH = NotificationKind(
    "referrals.new_in_branch",
    "notification.referrals.new_in_branch",
    # The lead distributes the branch's cases and answers for the acceptance deadline: at once.
    # Volunteers may accept too, but a mail to every volunteer for every case would teach them to
    # ignore the mails that concern them: in-app only, unless they ask for more.
    {Role.WR_BRANCH_LEAD: EmailMode.IMMEDIATE, Role.WR_VOLUNTEER: EmailMode.OFF},
)
ASSIGNED = NotificationKind(
    "referrals.assigned",
    "notification.referrals.assigned",
    # The first-contact deadline now runs for this one person, who may not open the service daily.
    {Role.WR_VOLUNTEER: EmailMode.IMMEDIATE, Role.WR_BRANCH_LEAD: EmailMode.IMMEDIATE},
)
TO_STATE_OFFICE = NotificationKind(
    "referrals.to_state_office",
    "notification.referrals.to_state_office",
    # No branch serves the postcode, or the branch declined: nobody else will route it.
    {Role.WR_STATE_OFFICE: EmailMode.IMMEDIATE},
)
ESCALATED = NotificationKind(
    "referrals.escalated",
    "notification.referrals.escalated",
    # A deadline passed: the victim waits already, so at once.
    {Role.WR_BRANCH_LEAD: EmailMode.IMMEDIATE, Role.WR_STATE_OFFICE: EmailMode.IMMEDIATE},
)
DEADLINE_SOON = NotificationKind(
    "referrals.deadline_soon",
    "notification.referrals.deadline_soon",
    # The assignee has only their own cases: at once. Leads and the state office get one for every
    # case of their queue and see the same "due soon" in their lists: once a day, and the escalation
    # still comes at once if the deadline passes.
    {
        Role.WR_VOLUNTEER: EmailMode.IMMEDIATE,
        Role.WR_BRANCH_LEAD: EmailMode.DIGEST,
        Role.WR_STATE_OFFICE: EmailMode.DIGEST,
    },
)
KINDS = (NEW_IN_BRANCH, ASSIGNED, TO_STATE_OFFICE, ESCALATED, DEADLINE_SOON)

_BRANCH_TEAM = (Role.WR_VOLUNTEER, Role.WR_BRANCH_LEAD)


def case_page(referral_id: uuid.UUID) -> str:
    """The WEISSER RING's case page (`pages/weisser_ring.py`): volunteers, leads and the state office
    all open a case there."""
    return f"/weisser-ring/faelle/{referral_id}"


async def arrived(
    session: AsyncSession, referral: Referral, *, now: dt.datetime, actor_id: uuid.UUID | None
) -> None:
    """The referral came to its branch's inbox (submitted, routed, moved by a corrected postcode) or,
    without a branch (no branch for the postcode, declined), to the state office's queue."""
    if referral.branch_id is None:
        recipients = await _state_office(session)
        await _notify(session, TO_STATE_OFFICE, referral, recipients, now=now, actor_id=actor_id)
    else:
        team = await users_holding(session, _BRANCH_TEAM, [referral.branch_id])
        await _notify(session, NEW_IN_BRANCH, referral, team, now=now, actor_id=actor_id)


async def assigned(
    session: AsyncSession, referral: Referral, *, now: dt.datetime, actor_id: uuid.UUID
) -> None:
    """The branch lead gave the case to someone (nobody is told of taking a case on themselves)."""
    if referral.assignee_id is not None:
        await _notify(session, ASSIGNED, referral, [referral.assignee_id], now=now, actor_id=actor_id)


async def escalated(
    session: AsyncSession, referral: Referral, level: int, passed: dt.datetime, *, now: dt.datetime
) -> None:
    """A deadline passed and the case rose to escalation `level`: the branch's leads for the
    acceptance deadline (the state office, for a case without a branch), the state office for the
    first contact. Once per step, recipient and routing: after the state office routes the case
    anew, its steps may come again, to the new branch."""
    if level >= EscalationLevel.STATE_OFFICE or referral.branch_id is None:
        recipients = await _state_office(session)
    else:
        recipients = await users_holding(session, [Role.WR_BRANCH_LEAD], [referral.branch_id])
    routing = int(referral.routed_at.timestamp()) if referral.routed_at else 0
    dedupe = f"{referral.id}:{level}:{routing}"
    await _notify(session, ESCALATED, referral, recipients, now=now, deadline=passed, dedupe=dedupe)


async def deadline_soon(
    session: AsyncSession, referral: Referral, deadline: Deadline, due: dt.datetime, *, now: dt.datetime
) -> None:
    """`deadline` passes at `due`, soon: a reminder to whoever must act, once per deadline."""
    if referral.assignee_id is not None:
        recipients = [referral.assignee_id]
    elif referral.branch_id is not None:
        recipients = await users_holding(session, [Role.WR_BRANCH_LEAD], [referral.branch_id])
    else:
        recipients = await _state_office(session)
    dedupe = f"{referral.id}:{deadline.value}:{int(due.timestamp())}"
    await _notify(session, DEADLINE_SOON, referral, recipients, now=now, deadline=due, dedupe=dedupe)


async def _state_office(session: AsyncSession) -> list[uuid.UUID]:
    # The state office's scope has no unit condition (`repository.in_state_office_queue`).
    units = await repository.unit_ids_of_kind(session, UnitKind.WR_STATE_OFFICE)
    return await users_holding(session, [Role.WR_STATE_OFFICE], units)


async def _notify(
    session: AsyncSession,
    kind: NotificationKind,
    referral: Referral,
    recipients: list[uuid.UUID],
    *,
    now: dt.datetime,
    actor_id: uuid.UUID | None = None,
    deadline: dt.datetime | None = None,
    dedupe: str | None = None,
) -> None:
    occurrence = Occurrence(
        kind,
        subject_id=referral.id,
        reference=referral.reference,
        link=case_page(referral.id),
        # The day as the recipients' calendar has it.
        deadline=deadline.astimezone(LOCAL_TIMEZONE).date() if deadline else None,
        dedupe=dedupe,
    )
    await notify(session, occurrence, recipients, now=now, actor_id=actor_id)
