"""All SQL of the referral domain, scoped by the acting principal.

A referral outside the caller's scope is simply not found: the scope is part of the WHERE clause that
looks the record up.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import ColumnElement, Row, and_, bindparam, false, func, or_, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.models import OrgUnit, RoleAssignment, User
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role, UnitKind
from referral_service.identity.scope import in_unit_subtree
from referral_service.referrals.domain import OPEN_STATES, EscalationLevel, ReferralStatus
from referral_service.referrals.models import ContactAttempt, PostcodeRoute, Referral, ReferralTransition

POLICE_ROLES = (Role.POLICE_OFFICER, Role.POLICE_SUPERVISOR)
WR_BRANCH_ROLES = (Role.WR_VOLUNTEER, Role.WR_BRANCH_LEAD)
_Record = TypeVar("_Record", ReferralTransition, ContactAttempt)


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """Which referrals the principal may know of at all; fails closed for any other role."""
    conditions: list[ColumnElement[bool]] = []
    if principal.has_role(*POLICE_ROLES):
        # An officer's station, or a supervisor's station or directorate and everything below it.
        conditions.append(in_unit_subtree(principal, Referral.referring_station_id))
    if principal.has_role(Role.WR_VOLUNTEER):
        conditions.append(
            or_(
                col(Referral.assignee_id) == principal.user_id,
                and_(
                    col(Referral.branch_id) == principal.unit_id,
                    col(Referral.status) == ReferralStatus.SUBMITTED,
                ),
            )
        )
    if principal.has_role(Role.WR_BRANCH_LEAD):
        conditions.append(col(Referral.branch_id) == principal.unit_id)
    if principal.has_role(Role.WR_STATE_OFFICE):
        conditions.append(
            or_(
                col(Referral.branch_id).is_(None),
                col(Referral.escalation_level) >= EscalationLevel.STATE_OFFICE,
            )
        )
    return or_(*conditions) if conditions else false()


async def get_visible(
    session: AsyncSession, principal: Principal, referral_id: uuid.UUID, *, for_update: bool = False
) -> Referral | None:
    query = select(Referral).where(col(Referral.id) == referral_id, visible_to(principal))
    if for_update:
        # PostgreSQL: concurrent transitions of one referral queue here, so exactly one wins.
        # SQLite: the transaction already holds the database write lock (BEGIN IMMEDIATE).
        query = query.with_for_update()
    return (await session.execute(query)).scalars().first()


async def list_visible(
    session: AsyncSession,
    principal: Principal,
    *,
    statuses: Sequence[ReferralStatus] | None,
    limit: int,
    offset: int,
) -> Sequence[Referral]:
    query = select(Referral).where(visible_to(principal))
    if statuses:
        query = query.where(col(Referral.status).in_([status.value for status in statuses]))
    query = query.order_by(col(Referral.submitted_at).desc(), col(Referral.id)).limit(limit).offset(offset)
    return (await session.execute(query)).scalars().all()


async def newest_by(session: AsyncSession, principal: Principal) -> Referral | None:
    """The newest referral the principal submitted, among those they may still see."""
    query = (
        select(Referral)
        .where(col(Referral.referring_officer_id) == principal.user_id, visible_to(principal))
        # Within a year the reference orders referrals made at the same moment.
        .order_by(col(Referral.submitted_at).desc(), col(Referral.reference).desc())
        .limit(1)
    )
    return (await session.execute(query)).scalars().first()


# Built once: on the create path, building a statement costs more than running it.
_BRANCH_FOR_POSTCODE = (
    select(col(PostcodeRoute.branch_id))
    .where(
        col(PostcodeRoute.postcode_from) <= bindparam("postcode"),
        col(PostcodeRoute.postcode_to) >= bindparam("postcode"),
    )
    .order_by(col(PostcodeRoute.postcode_from).desc())
    .limit(1)
)


async def branch_for_postcode(session: AsyncSession, postcode: str) -> uuid.UUID | None:
    return (await session.execute(_BRANCH_FOR_POSTCODE, {"postcode": postcode})).scalars().first()


async def is_unit_of_kind(session: AsyncSession, unit_id: uuid.UUID, kind: UnitKind) -> bool:
    query = (
        select(func.count()).select_from(OrgUnit).where(col(OrgUnit.id) == unit_id, col(OrgUnit.kind) == kind)
    )
    return bool((await session.execute(query)).scalar_one())


async def is_active_branch_member(session: AsyncSession, user_id: uuid.UUID, branch_id: uuid.UUID) -> bool:
    """Whether the user works cases in the branch: active, of that unit, volunteer or branch lead."""
    query = (
        select(func.count())
        .select_from(User)
        .join(RoleAssignment, col(RoleAssignment.user_id) == col(User.id))
        .where(
            col(User.id) == user_id,
            col(User.unit_id) == branch_id,
            col(User.active).is_(True),
            col(RoleAssignment.role).in_([role.value for role in WR_BRANCH_ROLES]),
        )
    )
    return bool((await session.execute(query)).scalar_one())


# NULL never equals NULL in SQL, so an absent phone or e-mail index simply matches nothing.
_OPEN_REFERRALS_MATCHING = (
    select(Referral)
    .where(
        or_(
            col(Referral.phone_index) == bindparam("phone_index"),
            col(Referral.email_index) == bindparam("email_index"),
        ),
        col(Referral.id) != bindparam("exclude"),
        col(Referral.status).in_([status.value for status in OPEN_STATES]),
    )
    .order_by(col(Referral.submitted_at))
)


async def open_referrals_matching(
    session: AsyncSession, *, phone_index: bytes | None, email_index: bytes | None, exclude: uuid.UUID
) -> Sequence[Referral]:
    """Open referrals whose phone or e-mail blind index equals the given ones (false positives possible)."""
    if phone_index is None and email_index is None:
        return []
    params = {"phone_index": phone_index, "email_index": email_index, "exclude": exclude}
    return (await session.execute(_OPEN_REFERRALS_MATCHING, params)).scalars().all()


async def add_transition(session: AsyncSession, transition: ReferralTransition) -> None:
    session.add(transition)


async def add_contact_attempt(session: AsyncSession, attempt: ContactAttempt) -> None:
    session.add(attempt)


async def transitions_with_roles(
    session: AsyncSession, referral_id: uuid.UUID
) -> list[tuple[ReferralTransition, frozenset[str]]]:
    """The referral's transitions, oldest first, each with the roles its actor holds now."""
    query = (
        select(ReferralTransition, col(RoleAssignment.role))
        .outerjoin(RoleAssignment, col(RoleAssignment.user_id) == col(ReferralTransition.actor_id))
        .where(col(ReferralTransition.referral_id) == referral_id)
        .order_by(col(ReferralTransition.at), col(ReferralTransition.id))
    )
    return _with_roles((await session.execute(query)).all())


async def contact_attempts_with_roles(
    session: AsyncSession, referral_id: uuid.UUID
) -> list[tuple[ContactAttempt, frozenset[str]]]:
    """The referral's contact attempts, oldest first, each with the roles its recorder holds now."""
    query = (
        select(ContactAttempt, col(RoleAssignment.role))
        .outerjoin(RoleAssignment, col(RoleAssignment.user_id) == col(ContactAttempt.recorded_by_id))
        .where(col(ContactAttempt.referral_id) == referral_id)
        .order_by(col(ContactAttempt.attempted_at), col(ContactAttempt.id))
    )
    return _with_roles((await session.execute(query)).all())


def _with_roles(rows: Sequence[Row[_Record, str | None]]) -> list[tuple[_Record, frozenset[str]]]:
    """One entry per record, in the query's order, with the roles of its (one row per role) join."""
    roles: dict[uuid.UUID, set[str]] = {}
    records: list[_Record] = []
    for record, role in rows:
        if record.id not in roles:
            roles[record.id] = set()
            records.append(record)
        if role is not None:
            roles[record.id].add(role)
    return [(record, frozenset(roles[record.id])) for record in records]


async def due_for_escalation(
    session: AsyncSession, *, now: dt.datetime, accept_within: dt.timedelta, contact_within: dt.timedelta
) -> Sequence[Referral]:
    """Open referrals that passed a deadline and are not yet escalated that far."""
    not_accepted = and_(
        col(Referral.status) == ReferralStatus.SUBMITTED,
        col(Referral.submitted_at) <= now - accept_within,
        col(Referral.escalation_level) < EscalationLevel.BRANCH_LEAD,
    )
    not_contacted = and_(
        col(Referral.status).in_(
            [ReferralStatus.SUBMITTED, ReferralStatus.ACCEPTED, ReferralStatus.CONTACT_ATTEMPTED]
        ),
        col(Referral.first_contact_at).is_(None),
        col(Referral.submitted_at) <= now - contact_within,
        col(Referral.escalation_level) < EscalationLevel.STATE_OFFICE,
    )
    query = select(Referral).where(or_(not_accepted, not_contacted)).order_by(col(Referral.submitted_at))
    return (await session.execute(query.with_for_update())).scalars().all()


async def replace_postcode_routes(
    session: AsyncSession, routes: Sequence[tuple[str, str, uuid.UUID]]
) -> None:
    for route in (await session.execute(select(PostcodeRoute))).scalars().all():
        await session.delete(route)
    for postcode_from, postcode_to, branch_id in routes:
        session.add(PostcodeRoute(postcode_from=postcode_from, postcode_to=postcode_to, branch_id=branch_id))


async def count_postcode_routes(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(PostcodeRoute))).scalar_one())


async def unit_ids_by_code(session: AsyncSession, codes: Sequence[str]) -> dict[str, uuid.UUID]:
    query = select(col(OrgUnit.code), col(OrgUnit.id)).where(col(OrgUnit.code).in_(list(codes)))
    return {code: unit_id for code, unit_id in (await session.execute(query)).all()}
