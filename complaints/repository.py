"""All SQL of the complaint domain (except the reference counter and the access throttle, which are
single-purpose modules of their own). Staff queries are scoped by the acting principal inside the
WHERE clause, so a complaint outside the caller's scope is simply not found.

Scope: the lead of the complaints office sees every complaint, a handler the complaints
assigned to them, everyone else nothing. A handler's queue also lists the open complaints nobody has
taken yet (`takeable`), with their plain columns only: reading one needs taking it first. A statement
request is seen by the police unit it is addressed to, and by nobody else outside the office.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, case, delete, false, func, or_, true
from sqlalchemy.orm import defer
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from complaints.domain import DEADLINE_STATES, OPEN_STATES, ComplaintStatus, MessageVisibility
from complaints.models import (
    NO_DEADLINE,
    ComplainantSession,
    Complaint,
    ComplaintAttachment,
    ComplaintCategory,
    ComplaintMessage,
    ComplaintTransition,
    StatementRequest,
)
from complaints.working_days import Pause
from referral_service.identity.models import OrgUnit, RoleAssignment, User
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role, UnitKind
from referral_service.listing import Keyset, SortKey

POLICE_UNIT_KINDS = (UnitKind.POLICE_STATION.value, UnitKind.POLICE_DIRECTORATE.value)
OFFICE_ROLES = (Role.COMPLAINTS_HANDLER.value, Role.COMPLAINTS_LEAD.value)

Row = Complaint | ComplaintMessage | StatementRequest | ComplaintAttachment | ComplaintTransition


async def add(session: AsyncSession, *rows: Row | ComplainantSession) -> None:
    session.add_all(rows)
    await session.flush()


# Scope


def sees_all_complaints(principal: Principal) -> bool:
    return principal.has_role(Role.COMPLAINTS_LEAD)


def complaint_scope(principal: Principal) -> ColumnElement[bool]:
    if sees_all_complaints(principal):
        return true()
    if principal.has_role(Role.COMPLAINTS_HANDLER):
        return col(Complaint.assignee_id) == principal.user_id
    return false()


def takeable(principal: Principal) -> ColumnElement[bool]:
    """Open complaints nobody has taken, which this caller may take. Never one about the caller's own
    unit: role families already keep police staff out of the office, this holds should that change."""
    return and_(
        col(Complaint.assignee_id).is_(None),
        col(Complaint.status).in_(_values(OPEN_STATES)),
        or_(col(Complaint.police_unit_id).is_(None), col(Complaint.police_unit_id) != principal.unit_id),
    )


def queue_scope(principal: Principal) -> ColumnElement[bool]:
    """What the caller's lists show: their scope, and for a handler the complaints they may take."""
    if sees_all_complaints(principal):
        return true()
    if principal.has_role(Role.COMPLAINTS_HANDLER):
        return or_(col(Complaint.assignee_id) == principal.user_id, takeable(principal))
    return false()


def statement_request_scope(principal: Principal) -> ColumnElement[bool]:
    if principal.has_role(Role.POLICE_SUPERVISOR):
        return col(StatementRequest.unit_id) == principal.unit_id
    return false()


# Directory look-ups


async def police_unit(session: AsyncSession, unit_id: uuid.UUID) -> OrgUnit | None:
    stmt = select(OrgUnit).where(OrgUnit.id == unit_id, col(OrgUnit.kind).in_(POLICE_UNIT_KINDS))
    return (await session.exec(stmt)).first()


async def office_members(session: AsyncSession) -> Sequence[tuple[uuid.UUID, str, bool]]:
    """(id, display name, active) of everybody holding an office role, by name."""
    office = select(RoleAssignment.user_id).where(col(RoleAssignment.role).in_(OFFICE_ROLES))
    stmt = (
        select(col(User.id), col(User.display_name), col(User.active))
        .where(col(User.id).in_(office))
        .order_by(col(User.display_name), col(User.id))
    )
    return [(user_id, name, active) for user_id, name, active in (await session.exec(stmt)).all()]


async def office_unit_ids(session: AsyncSession) -> list[uuid.UUID]:
    """The complaints offices, where the leads (who see every complaint) hold their role."""
    stmt = select(OrgUnit.id).where(OrgUnit.kind == UnitKind.COMPLAINTS_OFFICE.value)
    return list((await session.exec(stmt)).all())


async def is_active_office_user(session: AsyncSession, user_id: uuid.UUID) -> bool:
    stmt = (
        select(User.id)
        .join(RoleAssignment, col(RoleAssignment.user_id) == col(User.id))
        .where(User.id == user_id, col(User.active).is_(True), col(RoleAssignment.role).in_(OFFICE_ROLES))
    )
    return (await session.exec(stmt)).first() is not None


# Complaints


async def get_complaint(
    session: AsyncSession, principal: Principal, complaint_id: uuid.UUID, *, for_update: bool = False
) -> Complaint | None:
    stmt = select(Complaint).where(Complaint.id == complaint_id, complaint_scope(principal))
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def get_complaint_unscoped(
    session: AsyncSession, complaint_id: uuid.UUID, *, for_update: bool = False
) -> Complaint | None:
    """For the complainant's own session and for a unit answering a request already in its scope."""
    stmt = select(Complaint).where(Complaint.id == complaint_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def complaint_by_reference(session: AsyncSession, reference: str) -> Complaint | None:
    return (await session.exec(select(Complaint).where(Complaint.reference == reference))).first()


def _column(attribute: Any) -> ColumnElement[Any]:
    # A model attribute is typed `Mapped`; at class level it is the column expression a keyset needs.
    return cast("ColumnElement[Any]", attribute)


def _values(states: frozenset[ComplaintStatus]) -> list[str]:
    return sorted(state.value for state in states)


# The office's queue: deadline first (what a legal deadline needs), then arrival; the id makes it total.
QUEUE_DEADLINE = func.coalesce(col(Complaint.deadline_on), NO_DEADLINE)
QUEUE_ORDER = Keyset(
    SortKey(QUEUE_DEADLINE, "queue_deadline", dt.date),
    SortKey(_column(Complaint.received_at), "received_at", dt.datetime),
    SortKey(_column(Complaint.id), "id", uuid.UUID),
)


@dataclass(frozen=True, slots=True)
class ComplaintQuery:
    """The queue's filters, resolved to what the database compares (ids, dates, UTC moments)."""

    statuses: frozenset[ComplaintStatus] = frozenset()
    category: str | None = None
    channel: str | None = None
    police_unit_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    unassigned: bool = False
    # Deadline states: overdue before this day; due from..until (inclusive); the clock paused.
    overdue_before: dt.date | None = None
    due_between: tuple[dt.date, dt.date] | None = None
    paused: bool = False
    received_since: dt.datetime | None = None
    received_before: dt.datetime | None = None
    reference: str | None = None


def _running_deadline() -> ColumnElement[bool]:
    return col(Complaint.status).in_(_values(DEADLINE_STATES))


def _overdue(before: dt.date) -> ColumnElement[bool]:
    return and_(_running_deadline(), col(Complaint.deadline_on) < before)


def _due_between(first: dt.date, last: dt.date) -> ColumnElement[bool]:
    return and_(_running_deadline(), col(Complaint.deadline_on).between(first, last))


def queue_query(principal: Principal, query: ComplaintQuery) -> SelectOfScalar[Complaint]:
    """The caller's queue with its filters, unordered (the keyset orders it); plain columns only are
    ever read from it."""
    conditions: list[ColumnElement[bool]] = [queue_scope(principal)]
    if query.statuses:
        conditions.append(col(Complaint.status).in_(_values(query.statuses)))
    if query.category is not None:
        conditions.append(col(Complaint.category) == query.category)
    if query.channel is not None:
        conditions.append(col(Complaint.channel) == query.channel)
    if query.police_unit_id is not None:
        conditions.append(col(Complaint.police_unit_id) == query.police_unit_id)
    if query.assignee_id is not None:
        conditions.append(col(Complaint.assignee_id) == query.assignee_id)
    if query.unassigned:
        conditions.append(col(Complaint.assignee_id).is_(None))
    if query.overdue_before is not None:
        conditions.append(_overdue(query.overdue_before))
    if query.due_between is not None:
        conditions.append(_due_between(*query.due_between))
    if query.paused:
        conditions.append(col(Complaint.status) == ComplaintStatus.STATEMENT_REQUESTED.value)
    if query.received_since is not None:
        conditions.append(col(Complaint.received_at) >= query.received_since)
    if query.received_before is not None:
        conditions.append(col(Complaint.received_at) < query.received_before)
    if query.reference is not None:
        conditions.append(col(Complaint.reference) == query.reference)
    return select(Complaint).where(*conditions)


async def take(session: AsyncSession, principal: Principal, complaint_id: uuid.UUID) -> Complaint | None:
    """The complaint, locked, if the caller may take it (or already holds it)."""
    stmt = (
        select(Complaint)
        .where(
            Complaint.id == complaint_id,
            or_(complaint_scope(principal), takeable(principal)),
        )
        .with_for_update()
    )
    return (await session.exec(stmt)).first()


@dataclass(frozen=True, slots=True)
class Workload:
    assignee_id: uuid.UUID | None  # None: the open complaints nobody has taken
    open: int
    overdue: int
    due_soon: int


async def count_past_deadline(session: AsyncSession, today: dt.date) -> int:
    """Complaints past the answer deadline and not yet decided, office-wide (the metrics' gauge)."""
    stmt = select(func.count()).select_from(Complaint).where(_overdue(today))
    return int((await session.exec(stmt)).one())


async def overdue_statements_by_unit(session: AsyncSession, today: dt.date) -> list[tuple[uuid.UUID, int]]:
    """Unanswered statement requests past their deadline, per police unit asked (the metrics' gauge)."""
    stmt = (
        select(col(StatementRequest.unit_id), func.count())
        .where(col(StatementRequest.answered_at).is_(None), col(StatementRequest.deadline_on) < today)
        .group_by(col(StatementRequest.unit_id))
    )
    return [(unit_id, int(count)) for unit_id, count in (await session.exec(stmt)).all()]


async def workload(session: AsyncSession, *, today: dt.date, due_until: dt.date) -> list[Workload]:
    """Open complaints per assignee, with how many are overdue and due soon: one grouped query."""
    overdue = func.sum(case((_overdue(today), 1), else_=0))
    due_soon = func.sum(case((_due_between(today, due_until), 1), else_=0))
    stmt = (
        select(col(Complaint.assignee_id), func.count(), overdue, due_soon)
        .where(col(Complaint.status).in_(_values(OPEN_STATES)))
        .group_by(col(Complaint.assignee_id))
    )
    return [
        Workload(assignee_id, int(count), int(late or 0), int(soon or 0))
        for assignee_id, count, late, soon in (await session.exec(stmt)).all()
    ]


async def complaints_by_id(
    session: AsyncSession, complaint_ids: set[uuid.UUID]
) -> dict[uuid.UUID, Complaint]:
    if not complaint_ids:
        return {}
    stmt = select(Complaint).where(col(Complaint.id).in_(complaint_ids))
    return {complaint.id: complaint for complaint in (await session.exec(stmt)).all()}


async def answer_deadlines_between(
    session: AsyncSession, first: dt.date, last: dt.date
) -> Sequence[Complaint]:
    """Complaints whose answer deadline runs and falls on a day from `first` to `last` (the reminders)."""
    return (await session.exec(select(Complaint).where(_due_between(first, last)))).all()


# Messages


async def further_categories_of(session: AsyncSession, complaint_id: uuid.UUID) -> list[str]:
    """The complaint's mentions besides the primary one, in code order."""
    stmt = (
        select(ComplaintCategory.category)
        .where(
            col(ComplaintCategory.complaint_id) == complaint_id, col(ComplaintCategory.is_primary).is_(False)
        )
        .order_by(col(ComplaintCategory.category))
    )
    return list((await session.exec(stmt)).all())


async def replace_categories(
    session: AsyncSession, complaint_id: uuid.UUID, primary: str, further: Sequence[str]
) -> None:
    """The complaint's mentions become `primary` and `further` (which must not repeat `primary`)."""
    await session.exec(delete(ComplaintCategory).where(col(ComplaintCategory.complaint_id) == complaint_id))
    session.add_all(
        [
            ComplaintCategory(complaint_id=complaint_id, category=primary, is_primary=True),
            *(
                ComplaintCategory(complaint_id=complaint_id, category=code, is_primary=False)
                for code in further
            ),
        ]
    )
    await session.flush()


async def messages_of(
    session: AsyncSession, complaint_id: uuid.UUID, visibility: MessageVisibility | None = None
) -> Sequence[ComplaintMessage]:
    stmt = select(ComplaintMessage).where(ComplaintMessage.complaint_id == complaint_id)
    if visibility is not None:
        stmt = stmt.where(ComplaintMessage.visibility == visibility.value)
    return (await session.exec(stmt.order_by(col(ComplaintMessage.created_at)))).all()


# Statement requests


async def statement_requests_of(session: AsyncSession, complaint_id: uuid.UUID) -> Sequence[StatementRequest]:
    stmt = (
        select(StatementRequest)
        .where(StatementRequest.complaint_id == complaint_id)
        .order_by(col(StatementRequest.requested_at))
    )
    return (await session.exec(stmt)).all()


async def pauses_of(session: AsyncSession, complaint_id: uuid.UUID) -> list[Pause]:
    stmt = select(col(StatementRequest.requested_on), col(StatementRequest.answered_on)).where(
        StatementRequest.complaint_id == complaint_id
    )
    return [(begin, end) for begin, end in (await session.exec(stmt)).all()]


async def outstanding_requests(session: AsyncSession, complaint_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(
        StatementRequest.complaint_id == complaint_id, col(StatementRequest.answered_at).is_(None)
    )
    return int((await session.exec(stmt)).one())


async def get_statement_request(
    session: AsyncSession, complaint_id: uuid.UUID, request_id: uuid.UUID
) -> StatementRequest | None:
    stmt = select(StatementRequest).where(
        StatementRequest.id == request_id, StatementRequest.complaint_id == complaint_id
    )
    return (await session.exec(stmt)).first()


async def unit_statement_request(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID, *, for_update: bool = False
) -> tuple[StatementRequest, Complaint] | None:
    stmt = (
        select(StatementRequest, Complaint)
        .join(Complaint, col(Complaint.id) == col(StatementRequest.complaint_id))
        .where(StatementRequest.id == request_id, statement_request_scope(principal))
    )
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.exec(stmt)).first()
    return None if row is None else (row[0], row[1])


async def statement_deadlines_between(
    session: AsyncSession, first: dt.date, last: dt.date
) -> list[tuple[StatementRequest, str]]:
    """Unanswered requests, with their complaint's reference, whose deadline falls on a day from `first`
    to `last`; only while the complaint still waits for statements (after forwarding or withdrawal an
    answer is refused, so nobody is to be reminded of one)."""
    stmt = (
        select(StatementRequest, col(Complaint.reference))
        .join(Complaint, col(Complaint.id) == col(StatementRequest.complaint_id))
        .where(
            col(StatementRequest.answered_at).is_(None),
            col(StatementRequest.deadline_on).between(first, last),
            col(Complaint.status) == ComplaintStatus.STATEMENT_REQUESTED.value,
        )
    )
    return [(request, reference) for request, reference in (await session.exec(stmt)).all()]


# A unit's statement requests: the nearest deadline first.
UNIT_REQUEST_ORDER = Keyset(
    SortKey(_column(StatementRequest.deadline_on), "deadline_on", dt.date),
    SortKey(_column(StatementRequest.id), "id", uuid.UUID),
)


def unit_requests_query(
    principal: Principal, *, answered: bool | None, overdue_before: dt.date | None
) -> SelectOfScalar[StatementRequest]:
    """The statement requests addressed to the caller's unit; `overdue_before`: still unanswered with
    a deadline before that day."""
    stmt = select(StatementRequest).where(statement_request_scope(principal))
    if answered is not None:
        answered_at = col(StatementRequest.answered_at)
        stmt = stmt.where(answered_at.is_not(None) if answered else answered_at.is_(None))
    if overdue_before is not None:
        stmt = stmt.where(
            col(StatementRequest.answered_at).is_(None), col(StatementRequest.deadline_on) < overdue_before
        )
    return stmt


# Attachments (content deferred unless asked for: it can be megabytes)


async def attachments_of(session: AsyncSession, complaint_id: uuid.UUID) -> Sequence[ComplaintAttachment]:
    stmt = (
        select(ComplaintAttachment)
        .options(defer(ComplaintAttachment.content))  # type: ignore[arg-type]
        .where(ComplaintAttachment.complaint_id == complaint_id)
        .order_by(col(ComplaintAttachment.uploaded_at))
    )
    return (await session.exec(stmt)).all()


async def count_attachments(session: AsyncSession, complaint_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(ComplaintAttachment.complaint_id == complaint_id)
    return int((await session.exec(stmt)).one())


async def get_attachment(
    session: AsyncSession, complaint_id: uuid.UUID, attachment_id: uuid.UUID
) -> ComplaintAttachment | None:
    stmt = select(ComplaintAttachment).where(
        ComplaintAttachment.id == attachment_id, ComplaintAttachment.complaint_id == complaint_id
    )
    return (await session.exec(stmt)).first()


# Complainant sessions


async def active_complainant_session(
    session: AsyncSession, token_hash: str, now: dt.datetime
) -> ComplainantSession | None:
    stmt = select(ComplainantSession).where(
        ComplainantSession.token_hash == token_hash, col(ComplainantSession.expires_at) > now
    )
    return (await session.exec(stmt)).first()


async def delete_session(session: AsyncSession, session_id: uuid.UUID) -> None:
    await session.exec(delete(ComplainantSession).where(col(ComplainantSession.id) == session_id))


async def delete_expired_sessions(session: AsyncSession, complaint_id: uuid.UUID, now: dt.datetime) -> None:
    await session.exec(
        delete(ComplainantSession).where(
            col(ComplainantSession.complaint_id) == complaint_id, col(ComplainantSession.expires_at) <= now
        )
    )
