"""The throttle table itself: keyed hashes only, concurrent failures all counted, stale rows purged."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.db import utcnow
from referral_service.identity import throttle
from referral_service.identity.config import ThrottlePolicy
from referral_service.identity.models import LoginThrottle

POLICY = ThrottlePolicy(free_failures=5)
SECRET = b"s" * 32


def test_account_keys_are_keyed_hashes_of_the_normalised_name() -> None:
    key = throttle.account_key(SECRET, " Officer.Dresden ", POLICY).key
    assert key == throttle.account_key(SECRET, "officer.dresden", POLICY).key
    assert "officer" not in key
    assert key != throttle.account_key(b"t" * 32, "officer.dresden", POLICY).key
    assert len(key) <= 80


async def test_concurrent_failures_are_all_counted(engine: AsyncEngine) -> None:
    key = throttle.account_key(SECRET, "officer.dresden", POLICY)
    now = utcnow()

    async def fail_once() -> None:
        async with AsyncSession(engine) as session:
            await throttle.record_failure(session, key, now)
            await session.commit()

    await asyncio.gather(*(fail_once() for _ in range(8)))
    async with AsyncSession(engine) as session:
        row = (await session.exec(select(LoginThrottle).where(LoginThrottle.key == key.key))).one()
    assert row.failures == 8
    assert row.locked_until is not None


async def test_stale_rows_are_purged(engine: AsyncEngine) -> None:
    now = utcnow()
    async with AsyncSession(engine) as session:
        for name, age, locked in (
            ("old", 30, None),
            ("recent", 1, None),
            ("old-but-locked", 30, now + dt.timedelta(hours=1)),
        ):
            session.add(
                LoginThrottle(
                    key=f"account:{name}",
                    failures=5,
                    last_failure_at=now - dt.timedelta(hours=age),
                    locked_until=locked,
                )
            )
        await session.commit()
    async with AsyncSession(engine) as session:
        assert await throttle.purge_stale(session, now, dt.timedelta(hours=24)) == 1
        await session.commit()
        remaining = (await session.exec(select(func.count()).select_from(LoginThrottle))).one()
    assert remaining == 2
