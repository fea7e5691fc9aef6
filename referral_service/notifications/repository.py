"""All SQL of notifications."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, delete, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.models import RoleAssignment, User
from referral_service.listing import Keyset, SortKey
from referral_service.notifications.models import (
    EmailState,
    Notification,
    NotificationPreference,
    StaffContact,
)


async def users_holding(
    session: AsyncSession, roles: Iterable[str], unit_ids: Iterable[uuid.UUID]
) -> list[uuid.UUID]:
    """Active users holding one of `roles` in one of `unit_ids`, in a stable order."""
    roles, unit_ids = set(roles), set(unit_ids)
    if not roles or not unit_ids:
        return []
    stmt = (
        select(User.id)
        .join(RoleAssignment, col(RoleAssignment.user_id) == col(User.id))
        .where(col(User.active), col(User.unit_id).in_(unit_ids), col(RoleAssignment.role).in_(roles))
        .distinct()
        .order_by(col(User.id))
    )
    return list((await session.exec(stmt)).all())


async def active_users(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    ids = set(user_ids)
    if not ids:
        return set()
    stmt = select(User.id).where(col(User.id).in_(ids), col(User.active))
    return set((await session.exec(stmt)).all())


async def preferences_of(
    session: AsyncSession, user_ids: Iterable[uuid.UUID], kind: str
) -> dict[uuid.UUID, NotificationPreference]:
    ids = set(user_ids)
    if not ids:
        return {}
    stmt = select(NotificationPreference).where(
        col(NotificationPreference.user_id).in_(ids), NotificationPreference.kind == kind
    )
    return {row.user_id: row for row in (await session.exec(stmt)).all()}


async def contacts_of(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, StaffContact]:
    ids = set(user_ids)
    if not ids:
        return {}
    stmt = select(StaffContact).where(col(StaffContact.user_id).in_(ids))
    return {row.user_id: row for row in (await session.exec(stmt)).all()}


async def taken_dedupe_keys(session: AsyncSession, keys: Iterable[str]) -> set[str]:
    wanted = set(keys)
    if not wanted:
        return set()
    stmt = select(Notification.dedupe_key).where(col(Notification.dedupe_key).in_(wanted))
    return {key for key in (await session.exec(stmt)).all() if key is not None}


async def add(session: AsyncSession, rows: Sequence[Notification]) -> None:
    session.add_all(rows)
    await session.flush()


# A user's own notifications (the in-app list, the unread count, marking read). Each query names the
# recipient in its WHERE clause, so someone else's notification is simply not found.


def _column(attribute: Any) -> ColumnElement[Any]:
    # A model attribute is typed `Mapped`; at class level it is the column expression a keyset needs.
    return cast("ColumnElement[Any]", attribute)


# Newest first; the id makes the order total (the rows of one event share their time). The index
# `ix_notifications_recipient_time` serves it.
INBOX_ORDER = Keyset(
    SortKey(_column(Notification.created_at), "created_at", dt.datetime, descending=True),
    SortKey(_column(Notification.id), "id", uuid.UUID, descending=True),
)


def _in_list_of(user_id: uuid.UUID) -> list[ColumnElement[bool]]:
    # E-mail-only rows (the user turned the list off for the kind) are not part of the list.
    return [col(Notification.recipient_user_id) == user_id, col(Notification.in_app).is_(True)]


def inbox_query(user_id: uuid.UUID, *, unread_only: bool) -> Select[Any]:
    query = select(Notification).where(*_in_list_of(user_id))
    if unread_only:
        query = query.where(col(Notification.read_at).is_(None))
    return cast("Select[Any]", query)


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(*_in_list_of(user_id), col(Notification.read_at).is_(None))
    return int((await session.exec(stmt)).one())


async def own_notification(
    session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID
) -> Notification | None:
    stmt = select(Notification).where(col(Notification.id) == notification_id, *_in_list_of(user_id))
    return (await session.exec(stmt)).first()


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID, now: dt.datetime) -> int:
    stmt = (
        update(Notification)
        .where(*_in_list_of(user_id), col(Notification.read_at).is_(None))
        .values(read_at=now)
    )
    result = await session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def preferences_of_user(session: AsyncSession, user_id: uuid.UUID) -> dict[str, NotificationPreference]:
    stmt = select(NotificationPreference).where(col(NotificationPreference.user_id) == user_id)
    return {row.kind: row for row in (await session.exec(stmt)).all()}


async def delete_preferences(
    session: AsyncSession, user_id: uuid.UUID, kinds: Iterable[str] | None = None
) -> int:
    """Remove the user's choices for `kinds` (None: all of them); their roles' defaults apply again."""
    stmt = delete(NotificationPreference).where(col(NotificationPreference.user_id) == user_id)
    if kinds is not None:
        wanted = set(kinds)
        if not wanted:
            return 0
        stmt = stmt.where(col(NotificationPreference.kind).in_(wanted))
    result = await session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def contact_of(session: AsyncSession, user_id: uuid.UUID) -> StaffContact | None:
    stmt = select(StaffContact).where(col(StaffContact.user_id) == user_id)
    return (await session.exec(stmt)).first()


# The e-mail outbox (delivery.py): every change of a row's e-mail state after its claim is conditional on
# the state and claim time the sender saw, so a slow sender can never overwrite what another sender or
# an administrator decided since.


async def abandon(session: AsyncSession, *, claimed_before: dt.datetime, error: str) -> int:
    """Rows claimed before `claimed_before` and never reported back become `uncertain`."""
    result = await session.exec(
        update(Notification)
        .where(
            col(Notification.email_state) == EmailState.SENDING,
            col(Notification.email_claimed_at) < claimed_before,
        )
        .values(email_state=EmailState.UNCERTAIN, email_error=error)
    )
    return int(result.rowcount or 0)


async def due_pending(session: AsyncSession, now: dt.datetime, limit: int) -> list[Notification]:
    stmt = (
        select(Notification)
        .where(col(Notification.email_state) == EmailState.PENDING, col(Notification.email_next_at) <= now)
        .order_by(col(Notification.email_next_at), col(Notification.id))
        .limit(limit)
    )
    return list((await session.exec(stmt)).all())


async def due_digests(
    session: AsyncSession, *, created_before: dt.datetime, now: dt.datetime, recipients: int
) -> list[Notification]:
    """Every due digest row of up to `recipients` users, by user and then oldest first."""
    due = (
        col(Notification.email_state) == EmailState.DIGEST,
        col(Notification.created_at) < created_before,
        # A digest that failed waits for its retry like any other e-mail.
        or_(col(Notification.email_next_at).is_(None), col(Notification.email_next_at) <= now),
    )
    users = (
        select(Notification.recipient_user_id)
        .where(*due)
        .distinct()
        .order_by(col(Notification.recipient_user_id))
        .limit(recipients)
    )
    chosen = [user for user in (await session.exec(users)).all() if user is not None]
    if not chosen:
        return []
    stmt = (
        select(Notification)
        .where(*due, col(Notification.recipient_user_id).in_(chosen))
        .order_by(col(Notification.recipient_user_id), col(Notification.created_at), col(Notification.id))
    )
    return list((await session.exec(stmt)).all())


async def finish(
    session: AsyncSession,
    ids: Sequence[uuid.UUID],
    *,
    claimed_at: dt.datetime,
    **values: Any,
) -> int:
    """Set `values` on the rows still held by the claim made at `claimed_at` (also when they were
    declared uncertain meanwhile: the sender knows better). Returns the number of rows changed."""
    result = await session.exec(
        update(Notification)
        .where(
            col(Notification.id).in_(list(ids)),
            col(Notification.email_state).in_([EmailState.SENDING, EmailState.UNCERTAIN]),
            col(Notification.email_claimed_at) == claimed_at,
        )
        .values(**values)
    )
    return int(result.rowcount or 0)


async def count_by_state(session: AsyncSession) -> dict[str, int]:
    stmt = select(Notification.email_state, func.count()).group_by(col(Notification.email_state))
    return {state: int(count) for state, count in (await session.exec(stmt)).all()}


async def oldest_pending(session: AsyncSession) -> dt.datetime | None:
    stmt = select(func.min(Notification.created_at)).where(
        col(Notification.email_state) == EmailState.PENDING
    )
    return (await session.exec(stmt)).one()


async def delete_for_subject(session: AsyncSession, subject_id: uuid.UUID) -> int:
    """Remove every notification about one case (its erasure): a reference of an erased case has no
    reason to stay in anyone's list, and an e-mail not yet sent about it has nothing left to say."""
    result = await session.exec(delete(Notification).where(col(Notification.subject_id) == subject_id))
    return int(result.rowcount or 0)
