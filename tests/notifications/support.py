"""Notifications for the inbox tests and the generated scope checks, written through `notify` (the path
every domain takes) with a kind of the tests' own, so that no test depends on a domain's kinds."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.db import create_database_engine, utcnow
from referral_service.identity.roles import Role
from referral_service.notifications.kinds import EmailMode, NotificationKind
from referral_service.notifications.service import Occurrence, notify
from referral_service.web.notifications import KINDS_STATE

if TYPE_CHECKING:
    from tests.security.scope_world import Params, World

# Labelled with a text both catalogues have ("Was auf Sie wartet"), so a page can show it.
TEST_KIND = NotificationKind(
    "tests.waiting",
    "work.heading",
    {Role.WR_VOLUNTEER: EmailMode.IMMEDIATE, Role.WR_BRANCH_LEAD: EmailMode.DIGEST},
)


def install_test_kind(app: Litestar) -> None:
    """The test kind among the app's kinds, for this test only (the next test gets the state as built)."""
    app.state[KINDS_STATE] = {**app.state[KINDS_STATE], TEST_KIND.code: TEST_KIND}


async def write(
    engine: AsyncEngine,
    recipients: Sequence[uuid.UUID],
    *,
    reference: str = "VM-2026-000001",
    deadline: dt.date | None = None,
    at: dt.datetime | None = None,
) -> list[uuid.UUID]:
    """One event of the test kind for `recipients` (committed); the ids of the rows written."""
    occurrence = Occurrence(
        TEST_KIND, uuid.uuid4(), reference, f"/weisser-ring/faelle/{uuid.uuid4()}", deadline=deadline
    )
    async with AsyncSession(engine, expire_on_commit=False) as session:
        rows = await notify(session, occurrence, recipients, now=at or utcnow())
        await session.commit()
    return [row.id for row in rows]


# For tests/security/object_routes.py: a notification of the caller, and one of another user.


async def _for(world: World, username: str) -> Params:
    # An engine of the test's own: the application's pool belongs to the loop the application runs in.
    engine = create_database_engine(world.client.app.state.settings.database_url)
    try:
        (notification_id,) = await write(engine, [world.directory.account(username).user_id])
    finally:
        await engine.dispose()
    return {"notification_id": str(notification_id)}


async def own_notification(world: World) -> Params:
    return await _for(world, "volunteer.dresden")


async def foreign_notification(world: World) -> Params:
    return await world.once("foreign_notification", lambda: _for(world, "volunteer.leipzig"))
