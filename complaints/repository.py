"""All SQL of the complaint domain (except the reference counter and the access throttle, which are
single-purpose modules of their own). Staff queries are scoped by the acting principal inside the
WHERE clause, so a complaint outside the caller's scope is simply not found.

Scope: the lead of the complaints office sees every complaint, a handler the complaints
assigned to them, everyone else nothing. A statement request is seen by the police unit it is
addressed to, and by nobody else outside the office.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, false, func, true
from sqlalchemy.orm import defer
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.domain import DEADLINE_STATES, ComplaintStatus, MessageVisibility
from complaints.models import (
    ComplainantSession,
    Complaint,
    ComplaintAttachment,
    ComplaintMessage,
    ComplaintTransition,
    StatementRequest,
)
from complaints.working_days import Pause
from referral_service.identity.models import OrgUnit, RoleAssignment, User
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role, UnitKind

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


def statement_request_scope(principal: Principal) -> ColumnElement[bool]:
    if principal.has_role(Role.POLICE_SUPERVISOR):
        return col(StatementRequest.unit_id) == principal.unit_id
    return false()


# Directory look-ups


async def police_unit(session: AsyncSession, unit_id: uuid.UUID) -> OrgUnit | None:
    stmt = select(OrgUnit).where(OrgUnit.id == unit_id, col(OrgUnit.kind).in_(POLICE_UNIT_KINDS))
    return (await session.exec(stmt)).first()


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


async def list_complaints(
    session: AsyncSession,
    principal: Principal,
    *,
    status: ComplaintStatus | None,
    overdue_on: dt.date | None,
    limit: int,
    offset: int,
) -> Sequence[Complaint]:
    """The caller's queue, oldest first. `overdue_on`: only complaints overdue on that day."""
    stmt = select(Complaint).where(complaint_scope(principal))
    if status is not None:
        stmt = stmt.where(Complaint.status == status.value)
    if overdue_on is not None:
        stmt = stmt.where(
            col(Complaint.deadline_on) < overdue_on,
            col(Complaint.status).in_([s.value for s in DEADLINE_STATES]),
        )
    stmt = stmt.order_by(col(Complaint.received_at), col(Complaint.id)).limit(limit).offset(offset)
    return (await session.exec(stmt)).all()


# Messages


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


async def unit_statement_requests(
    session: AsyncSession, principal: Principal, *, open_only: bool, limit: int, offset: int
) -> Sequence[tuple[StatementRequest, Complaint]]:
    stmt = (
        select(StatementRequest, Complaint)
        .join(Complaint, col(Complaint.id) == col(StatementRequest.complaint_id))
        .where(statement_request_scope(principal))
    )
    if open_only:
        stmt = stmt.where(col(StatementRequest.answered_at).is_(None))
    stmt = (
        stmt.order_by(col(StatementRequest.deadline_on), col(StatementRequest.id)).limit(limit).offset(offset)
    )
    return [(request, complaint) for request, complaint in (await session.exec(stmt)).all()]


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
