"""Outbox rows in a chosen e-mail state, written straight into the table: the administrators' page and
its checks need failed and half-sent e-mails, which the sender would take minutes of backoff to make."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.db import utcnow
from referral_service.notifications.models import EmailState, Notification
from tests.notifications.support import TEST_KIND

if TYPE_CHECKING:
    from tests.security.scope_world import Params, World


async def insert_email(
    engine: AsyncEngine,
    state: EmailState,
    *,
    recipient: uuid.UUID | None = None,
    kind: str = TEST_KIND.code,
    reference: str = "VM-2026-000001",
    attempts: int = 0,
    error: str | None = None,
    at: dt.datetime | None = None,
) -> uuid.UUID:
    """One notification whose e-mail is in `state` (committed); a complainant's when no recipient."""
    subject = uuid.uuid4()
    row = Notification(
        kind=kind,
        recipient_user_id=recipient,
        subject_id=subject,
        reference=reference,
        link=f"/faelle/{subject}",
        created_at=at or utcnow(),
        in_app=recipient is not None,
        email_state=state,
        email_attempts=attempts,
        email_error=error,
    )
    notification_id = row.id
    async with AsyncSession(engine) as session:
        session.add(row)
        await session.commit()
    return notification_id


# For tests/security/object_routes.py: an e-mail an administrator may send again.


async def dead_email(world: World) -> Params:
    # An engine of its own: the app's pool holds connections of the test client's event loop, which
    # this one cannot use.
    engine = create_async_engine(world.client.app.state.engine.url, poolclass=NullPool)
    try:
        recipient = world.directory.account("volunteer.dresden").user_id
        notification_id = await insert_email(engine, EmailState.DEAD, recipient=recipient, error="refused")
    finally:
        await engine.dispose()
    return {"notification_id": str(notification_id)}
