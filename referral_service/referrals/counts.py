"""Where referral work waits (`Domain.work`): the counts of the start page and the navigation's badges,
all in one query over the referrals the principal may see, each linked to the list filtered the same way.

- WEISSER RING branch (volunteer, branch lead): new cases of the branch, the new ones past the acceptance
  deadline, cases taken on past the first-contact deadline, the caller's own open cases, and for the
  branch lead accepted cases that nobody holds. The badge: new plus first contact overdue (never the
  same case twice: one is submitted, the other accepted).
- State office: cases without a branch to route, and cases escalated to it that are still overdue.
- Police: the station's open referrals, and those closed in the last 7 days (the news an officer wants).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.domains import WorkItem, work_items
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role
from referral_service.referrals.domain import OPEN_STATES, DeadlineState, EscalationLevel, ReferralStatus
from referral_service.referrals.models import Referral
from referral_service.referrals.pages.common import POLICE_AREA, POLICE_ROLES, STATE_OFFICE_AREA, WR_AREA
from referral_service.referrals.policy import ReferralPolicy
from referral_service.referrals.repository import (
    DeadlineWindows,
    deadline_condition,
    in_state_office_queue,
    visible_to,
)

S = ReferralStatus
# The police's news: referrals closed this recently.
NEWS_WITHIN = dt.timedelta(days=7)
_TAKEN_ON = (S.ACCEPTED, S.CONTACT_ATTEMPTED, S.IN_CONTACT)
_CONTACT_PENDING = (S.ACCEPTED, S.CONTACT_ATTEMPTED)
_POLICE_OPEN = tuple(status for status in S if status in OPEN_STATES)


@dataclass(frozen=True, slots=True)
class _Count:
    """One count: its condition (within the principal's scope) and how it shows."""

    condition: ColumnElement[bool]
    area: str
    label_key: str
    # The list's query (the pages' filter names) that shows the counted cases.
    query: Sequence[tuple[str, str]]
    urgent: bool = False
    badge: bool = False


def _statuses(statuses: Sequence[ReferralStatus]) -> ColumnElement[bool]:
    return col(Referral.status).in_([status.value for status in statuses])


def _status_query(statuses: Sequence[ReferralStatus]) -> list[tuple[str, str]]:
    return [("status", status.value) for status in statuses]


def _counts(principal: Principal, policy: ReferralPolicy, now: dt.datetime) -> list[_Count]:
    overdue = deadline_condition(
        DeadlineState.OVERDUE,
        DeadlineWindows(
            now=now,
            accept_within=policy.accept_within,
            contact_within=policy.contact_within,
            due_soon_within=policy.due_soon_within,
        ),
    )
    overdue_query = [("frist", DeadlineState.OVERDUE.value)]
    counts: list[_Count] = []
    if principal.has_role(Role.WR_VOLUNTEER, Role.WR_BRANCH_LEAD):
        new = and_(col(Referral.status) == S.SUBMITTED, col(Referral.branch_id) == principal.unit_id)
        counts += [
            _Count(new, WR_AREA.path, "work.referral.new", _status_query([S.SUBMITTED]), badge=True),
            _Count(
                and_(new, overdue),
                WR_AREA.path,
                "work.referral.accept_overdue",
                [*_status_query([S.SUBMITTED]), *overdue_query],
                urgent=True,
            ),
            # Seen by a volunteer only when it is theirs, by the branch lead for the whole branch.
            _Count(
                and_(_statuses(_CONTACT_PENDING), overdue),
                WR_AREA.path,
                "work.referral.contact_overdue",
                [*_status_query(_CONTACT_PENDING), *overdue_query],
                urgent=True,
                badge=True,
            ),
            _Count(
                and_(_statuses(_TAKEN_ON), col(Referral.assignee_id) == principal.user_id),
                WR_AREA.path,
                "work.referral.mine",
                [("zustaendig", "me"), *_status_query(_TAKEN_ON)],
            ),
        ]
    if principal.has_role(Role.WR_BRANCH_LEAD):
        counts.append(
            _Count(
                and_(
                    _statuses(_TAKEN_ON),
                    col(Referral.branch_id) == principal.unit_id,
                    col(Referral.assignee_id).is_(None),
                ),
                WR_AREA.path,
                "work.referral.unassigned",
                [("zustaendig", "none"), *_status_query(_TAKEN_ON)],
            )
        )
    if principal.has_role(Role.WR_STATE_OFFICE):
        counts += [
            _Count(
                and_(col(Referral.branch_id).is_(None), _statuses([S.SUBMITTED, S.DECLINED_BY_BRANCH])),
                STATE_OFFICE_AREA.path,
                "work.referral.to_route",
                [],
                badge=True,
            ),
            _Count(
                and_(
                    in_state_office_queue(),
                    col(Referral.branch_id).is_not(None),
                    col(Referral.escalation_level) >= EscalationLevel.STATE_OFFICE,
                    overdue,
                ),
                STATE_OFFICE_AREA.path,
                "work.referral.escalated",
                overdue_query,
                urgent=True,
                badge=True,
            ),
        ]
    if principal.has_role(*POLICE_ROLES):
        counts += [
            _Count(
                _statuses(_POLICE_OPEN),
                POLICE_AREA.path,
                "work.referral.police_open",
                _status_query(_POLICE_OPEN),
            ),
            _Count(
                and_(col(Referral.status) == S.CLOSED, col(Referral.closed_at) >= now - NEWS_WITHIN),
                POLICE_AREA.path,
                "work.referral.police_closed",
                _status_query([S.CLOSED]),
                badge=True,
            ),
        ]
    return counts


async def referral_work(
    session: AsyncSession, principal: Principal, policy: ReferralPolicy
) -> list[WorkItem]:
    """Every referral count of the principal, in one query over the referrals it may see."""
    now = policy.clock()
    counts = _counts(principal, policy, now)
    if not counts:
        return []
    # Only the rows any count can hold: open cases, and the recently closed ones of the police's news.
    relevant = or_(
        _statuses(list(OPEN_STATES)),
        and_(col(Referral.status) == S.CLOSED, col(Referral.closed_at) >= now - NEWS_WITHIN),
    )
    query = (
        select(*(func.coalesce(func.sum(case((count.condition, 1), else_=0)), 0) for count in counts))
        .select_from(Referral)
        .where(visible_to(principal), relevant)
    )
    row = (await session.execute(query)).one()
    return work_items(counts, row)
