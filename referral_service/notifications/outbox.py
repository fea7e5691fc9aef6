"""The SQL of the e-mail outbox: due rows, claims, results, counts (used by `delivery.py` only).

Every change of a row's e-mail state after its claim is conditional on the state and claim time the
sender saw, so a slow sender can never overwrite what another sender or an administrator decided since.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.notifications.models import EmailState, Notification


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
