"""All SQL of the referral domain, scoped by the acting principal.

A referral outside the caller's scope is simply not found: the scope is part of the WHERE clause that
looks the record up.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import ColumnElement, Row, Select, and_, bindparam, false, func, not_, or_, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.models import OrgUnit, RoleAssignment, User
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role, UnitKind
from referral_service.identity.scope import in_unit_subtree
from referral_service.listing import Keyset, Page, SortKey, fetch_export, fetch_page
from referral_service.referrals.domain import (
    CONTACT_DEADLINE_STATES,
    OPEN_STATES,
    DeadlineState,
    EscalationLevel,
    OffenceCategory,
    ReferralStatus,
    Urgency,
)
from referral_service.referrals.models import ContactAttempt, PostcodeRoute, Referral, ReferralTransition

POLICE_ROLES = (Role.POLICE_OFFICER, Role.POLICE_SUPERVISOR)
WR_BRANCH_ROLES = (Role.WR_VOLUNTEER, Role.WR_BRANCH_LEAD)
_Record = TypeVar("_Record", ReferralTransition, ContactAttempt)


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """Which referrals the principal may know of at all; fails closed for any other role. The state
    office also keeps (read-only) sight of the cases it routed."""
    return _scope(principal, routed_sight=True)


def workable_by(principal: Principal) -> ColumnElement[bool]:
    """Which referrals the principal may change: those it sees, less the state office's routed cases."""
    return _scope(principal, routed_sight=False)


def in_state_office_queue() -> ColumnElement[bool]:
    """Why a case waits for the state office: no branch (none for the postcode, or declined), or
    escalated past the contact deadline."""
    return or_(
        col(Referral.branch_id).is_(None),
        col(Referral.escalation_level) >= EscalationLevel.STATE_OFFICE,
    )


def _scope(principal: Principal, *, routed_sight: bool) -> ColumnElement[bool]:
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
        conditions.append(in_state_office_queue())
        if routed_sight:
            conditions.append(col(Referral.routed_by_unit_id) == principal.unit_id)
    return or_(*conditions) if conditions else false()


async def get_visible(
    session: AsyncSession, principal: Principal, referral_id: uuid.UUID, *, for_update: bool = False
) -> Referral | None:
    scope = workable_by(principal) if for_update else visible_to(principal)
    query = select(Referral).where(col(Referral.id) == referral_id, scope)
    if for_update:
        # PostgreSQL: concurrent transitions of one referral queue here, so exactly one wins.
        # SQLite: the transaction already holds the database write lock (BEGIN IMMEDIATE).
        query = query.with_for_update()
    return (await session.execute(query)).scalars().first()


# Newest first; the reference is unique, so the order is total.
_REFERRALS = Referral.__table__  # type: ignore[attr-defined]
LIST_ORDER = Keyset(
    SortKey(_REFERRALS.c.submitted_at, "submitted_at", dt.datetime, descending=True),
    SortKey(_REFERRALS.c.reference, "reference", str, descending=True),
)


@dataclass(frozen=True, slots=True)
class DeadlineWindows:
    """The policy's deadlines, for the deadline filter in SQL (see `policy.deadline_state`)."""

    now: dt.datetime
    accept_within: dt.timedelta
    contact_within: dt.timedelta
    due_soon_within: dt.timedelta


@dataclass(frozen=True, slots=True)
class ReferralFilters:
    """What a list is narrowed to; every field optional. Values are validated before they get here."""

    statuses: Sequence[ReferralStatus] = ()
    offence_category: OffenceCategory | None = None
    urgency: Urgency | None = None
    branch_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    unassigned: bool = False
    deadline: DeadlineState | None = None
    submitted_from: dt.datetime | None = None  # inclusive
    submitted_before: dt.datetime | None = None  # exclusive
    reference: str | None = None
    # True: only the cases the caller's unit routed that left its queue; False: only its queue.
    routed: bool | None = None
    case_number_index: bytes | None = None

    def names(self) -> list[str]:
        """The names of the filters in use (for the audit log: never their values)."""
        return sorted(
            name
            for name in self.__slots__
            if getattr(self, name) not in (None, (), False) or (name == "routed" and self.routed is False)
        )


def filtered(principal: Principal, filters: ReferralFilters, windows: DeadlineWindows) -> Select[Referral]:
    """The referrals in the principal's scope that pass `filters` (unordered: see `LIST_ORDER`)."""
    conditions: list[ColumnElement[bool]] = [visible_to(principal)]
    if filters.statuses:
        conditions.append(col(Referral.status).in_([status.value for status in filters.statuses]))
    if filters.offence_category is not None:
        conditions.append(col(Referral.offence_category) == filters.offence_category.value)
    if filters.urgency is not None:
        conditions.append(col(Referral.urgency) == filters.urgency.value)
    if filters.branch_id is not None:
        conditions.append(col(Referral.branch_id) == filters.branch_id)
    if filters.assignee_id is not None:
        conditions.append(col(Referral.assignee_id) == filters.assignee_id)
    if filters.unassigned:
        conditions.append(col(Referral.assignee_id).is_(None))
    if filters.deadline is not None:
        conditions.append(deadline_condition(filters.deadline, windows))
    if filters.submitted_from is not None:
        conditions.append(col(Referral.submitted_at) >= filters.submitted_from)
    if filters.submitted_before is not None:
        conditions.append(col(Referral.submitted_at) < filters.submitted_before)
    if filters.reference is not None:
        conditions.append(col(Referral.reference) == filters.reference)
    if filters.routed is True:
        conditions.append(
            and_(col(Referral.routed_by_unit_id) == principal.unit_id, not_(in_state_office_queue()))
        )
    elif filters.routed is False:
        conditions.append(in_state_office_queue())
    if filters.case_number_index is not None:
        conditions.append(col(Referral.case_number_index) == filters.case_number_index)
    return select(Referral).where(*conditions)  # type: ignore[return-value]


def deadline_condition(state: DeadlineState, windows: DeadlineWindows) -> ColumnElement[bool]:
    """`policy.deadline_state` as SQL: the submission time against `now` less each deadline."""
    submitted = col(Referral.submitted_at)
    accept_open = col(Referral.status) == ReferralStatus.SUBMITTED
    contact_open = and_(
        col(Referral.status).in_([status.value for status in CONTACT_DEADLINE_STATES]),
        col(Referral.first_contact_at).is_(None),
    )
    accept_by = windows.now - windows.accept_within
    contact_by = windows.now - windows.contact_within
    overdue = or_(and_(accept_open, submitted < accept_by), and_(contact_open, submitted < contact_by))
    soon = or_(
        and_(accept_open, submitted < accept_by + windows.due_soon_within),
        and_(contact_open, submitted < contact_by + windows.due_soon_within),
    )
    running = or_(accept_open, contact_open)
    if state is DeadlineState.OVERDUE:
        return overdue
    if state is DeadlineState.DUE_SOON:
        return and_(soon, not_(overdue))
    if state is DeadlineState.RUNNING:
        return and_(running, not_(soon))
    return not_(running)


async def waiting_by_branch(session: AsyncSession) -> list[tuple[uuid.UUID | None, int]]:
    """Referrals submitted and not yet accepted, per branch (None: not yet routed); the metrics' gauge."""
    query = (
        select(col(Referral.branch_id), func.count())
        .where(col(Referral.status) == ReferralStatus.SUBMITTED)
        .group_by(col(Referral.branch_id))
    )
    return [(branch, int(count)) for branch, count in (await session.execute(query)).all()]


async def overdue_by_branch(
    session: AsyncSession, windows: DeadlineWindows
) -> list[tuple[uuid.UUID | None, int]]:
    """Referrals past a deadline (the lists' "overdue" filter), per branch; the metrics' gauge."""
    query = (
        select(col(Referral.branch_id), func.count())
        .where(deadline_condition(DeadlineState.OVERDUE, windows))
        .group_by(col(Referral.branch_id))
    )
    return [(branch, int(count)) for branch, count in (await session.execute(query)).all()]


async def list_page(
    session: AsyncSession,
    principal: Principal,
    filters: ReferralFilters,
    windows: DeadlineWindows,
    *,
    after: str | None,
    limit: int,
) -> Page[Referral]:
    return await fetch_page(
        session, filtered(principal, filters, windows), LIST_ORDER, after=after, limit=limit
    )


async def list_export(
    session: AsyncSession, principal: Principal, filters: ReferralFilters, windows: DeadlineWindows
) -> Sequence[Referral]:
    return await fetch_export(session, filtered(principal, filters, windows), LIST_ORDER)


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


async def due_for_reminder(
    session: AsyncSession,
    *,
    now: dt.datetime,
    accept_within: dt.timedelta,
    contact_within: dt.timedelta,
    remind_within: dt.timedelta,
) -> Sequence[Referral]:
    """Referrals with an open deadline that passes after `now` and within `remind_within` of it
    (`policy.approaching_deadlines` tells which one)."""

    def passes_soon(within: dt.timedelta) -> ColumnElement[bool]:
        # submitted + within in (now, now + remind]
        return and_(
            col(Referral.submitted_at) > now - within,
            col(Referral.submitted_at) <= now - within + remind_within,
        )

    accept_soon = and_(col(Referral.status) == ReferralStatus.SUBMITTED, passes_soon(accept_within))
    contact_soon = and_(
        col(Referral.status).in_([status.value for status in CONTACT_DEADLINE_STATES]),
        col(Referral.first_contact_at).is_(None),
        passes_soon(contact_within),
    )
    query = select(Referral).where(or_(accept_soon, contact_soon)).order_by(col(Referral.submitted_at))
    return (await session.execute(query)).scalars().all()


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


async def unit_ids_of_kind(session: AsyncSession, kind: UnitKind) -> list[uuid.UUID]:
    query = select(col(OrgUnit.id)).where(col(OrgUnit.kind) == kind).order_by(col(OrgUnit.id))
    return list((await session.execute(query)).scalars().all())
