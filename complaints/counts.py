"""Where complaint work waits (`Domain.work`): the counts of the start page and the navigation's badges,
all in one query (a scalar subquery per count), each scoped like the list it links to.

- Handler: complaints nobody has taken yet (which the handler may take), their own complaints with a
  message from the complainant that no reply has followed, overdue ones in their queue, and their open
  ones. The badge: waiting to be taken plus waiting for a reply (never the same complaint: one has no
  handler, the other is the caller's).
- Lead: complaints nobody has taken, overdue ones, and drafted decisions waiting for the lead's decision.
- Police supervisor: open statement requests addressed to the unit, and the overdue ones among them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, func, not_, select
from sqlalchemy.orm import aliased
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.config import ComplaintsConfig
from complaints.domain import (
    DEADLINE_STATES,
    OPEN_STATES,
    AuthorKind,
    DeadlineFilter,
    MessageVisibility,
)
from complaints.models import Complaint, ComplaintMessage, StatementRequest
from complaints.pages.common import ASSIGNEE, DEADLINE, OFFICE_AREA, STATEMENTS_AREA
from complaints.repository import complaint_scope, queue_scope, statement_request_scope, takeable
from referral_service.domains import WorkItem, work_items
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role
from referral_service.listing import AssigneeKeyword

# The pages' filters (complaints/pages/common.py); without a status both lists show the open ones.
_UNASSIGNED = [(ASSIGNEE, AssigneeKeyword.NONE.value)]
_MINE = [(ASSIGNEE, AssigneeKeyword.ME.value)]
_OVERDUE = [(DEADLINE, DeadlineFilter.OVERDUE.value)]


@dataclass(frozen=True, slots=True)
class _Count:
    # A scalar subquery counting the rows in scope that wait.
    counted: ColumnElement[int]
    area: str
    label_key: str
    query: Sequence[tuple[str, str]]
    urgent: bool = False
    badge: bool = False


def _complaints(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
    return select(func.count()).select_from(Complaint).where(*conditions).scalar_subquery()


def _open() -> ColumnElement[bool]:
    return col(Complaint.status).in_(sorted(state.value for state in OPEN_STATES))


def _overdue(today: dt.date) -> ColumnElement[bool]:
    """Past the answer deadline and not yet decided (`complaints.deadlines.is_overdue`)."""
    return and_(
        col(Complaint.status).in_(sorted(state.value for state in DEADLINE_STATES)),
        col(Complaint.deadline_on) < today,
    )


def _awaiting_reply() -> ColumnElement[bool]:
    """The complainant wrote, and no reply to the complainant followed (there is no read marker)."""
    message, reply = aliased(ComplaintMessage), aliased(ComplaintMessage)
    replied = exists().where(
        col(reply.complaint_id) == col(message.complaint_id),
        col(reply.visibility) == MessageVisibility.COMPLAINANT.value,
        col(reply.author_kind) == AuthorKind.STAFF.value,
        col(reply.created_at) >= col(message.created_at),
    )
    return exists().where(
        col(message.complaint_id) == col(Complaint.id),
        col(message.author_kind) == AuthorKind.COMPLAINANT.value,
        not_(replied),
    )


def _statements(principal: Principal, *conditions: ColumnElement[bool]) -> ColumnElement[int]:
    return (
        select(func.count())
        .select_from(StatementRequest)
        .where(statement_request_scope(principal), col(StatementRequest.answered_at).is_(None), *conditions)
        .scalar_subquery()
    )


def _counts(principal: Principal, today: dt.date) -> list[_Count]:
    office = OFFICE_AREA.path
    counts: list[_Count] = []
    if principal.has_role(Role.COMPLAINTS_LEAD):
        counts += [
            _Count(
                _complaints(takeable(principal)), office, "work.complaint.unassigned", _UNASSIGNED, badge=True
            ),
            _Count(_complaints(_overdue(today)), office, "work.complaint.overdue", _OVERDUE, urgent=True),
            _Count(
                _complaints(_open(), col(Complaint.draft_outcome).is_not(None)),
                office,
                "work.complaint.drafts",
                [],
                badge=True,
            ),
        ]
    elif principal.has_role(Role.COMPLAINTS_HANDLER):
        mine = and_(complaint_scope(principal), _open())
        counts += [
            _Count(
                _complaints(takeable(principal)), office, "work.complaint.unassigned", _UNASSIGNED, badge=True
            ),
            _Count(_complaints(mine, _awaiting_reply()), office, "work.complaint.replies", _MINE, badge=True),
            _Count(
                _complaints(queue_scope(principal), _overdue(today)),
                office,
                "work.complaint.overdue",
                _OVERDUE,
                urgent=True,
            ),
            _Count(_complaints(mine), office, "work.complaint.mine", _MINE),
        ]
    if principal.has_role(Role.POLICE_SUPERVISOR):
        statements = STATEMENTS_AREA.path
        counts += [
            _Count(_statements(principal), statements, "work.complaint.statements_open", [], badge=True),
            _Count(
                _statements(principal, col(StatementRequest.deadline_on) < today),
                statements,
                "work.complaint.statements_overdue",
                _OVERDUE,
                urgent=True,
            ),
        ]
    return counts


async def complaint_work(
    session: AsyncSession, principal: Principal, config: ComplaintsConfig
) -> list[WorkItem]:
    """Every complaint count of the principal, in one query."""
    counts = _counts(principal, config.today())
    if not counts:
        return []
    row = (await session.execute(select(*(count.counted for count in counts)))).one()
    return work_items(counts, row)
