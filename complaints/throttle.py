"""Throttling of complainant access attempts, per reference and per client address, in the database.

The same scheme as staff sign-in (`referral_service.identity.throttle`), in the complaint domain's own
table: keys are keyed hashes (the table names no reference and no address), an unknown reference is
throttled exactly like a known one, and counts are shared by every instance. Rows are created with
INSERT .. ON CONFLICT DO NOTHING and then read FOR UPDATE (PostgreSQL; SQLite serialises writers), so
concurrent failures are all counted.

A lock on a reference also locks out its rightful owner for a while (at most `max_lock`): the price of
making code guessing per reference slow, the same as for staff accounts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
from dataclasses import dataclass

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.models import ComplaintAccessThrottle
from referral_service.identity.config import ThrottlePolicy


@dataclass(frozen=True, slots=True)
class ThrottleKey:
    key: str
    policy: ThrottlePolicy


def reference_key(service_secret: bytes, reference: str, policy: ThrottlePolicy) -> ThrottleKey:
    mac_key = hashlib.sha256(b"complaint-access-reference:v1:" + service_secret).digest()
    digest = hmac.new(mac_key, reference.encode(), hashlib.sha256).hexdigest()[:40]
    return ThrottleKey("reference:" + digest, policy)


def client_key(client_hash: str, policy: ThrottlePolicy) -> ThrottleKey:
    return ThrottleKey("client:" + client_hash, policy)


async def remaining_lock(
    session: AsyncSession, keys: list[ThrottleKey], now: dt.datetime
) -> dt.timedelta | None:
    """The longest lock still running on any of `keys`, or None."""
    if not keys:
        return None
    stmt = select(ComplaintAccessThrottle).where(col(ComplaintAccessThrottle.key).in_([k.key for k in keys]))
    longest: dt.timedelta | None = None
    for row in (await session.exec(stmt)).all():
        if row.locked_until is not None and row.locked_until > now:
            left = row.locked_until - now
            longest = left if longest is None or left > longest else longest
    return longest


async def record_failure(session: AsyncSession, key: ThrottleKey, now: dt.datetime) -> int:
    """Count a failure against `key`, locking it when the policy says so. Returns the count."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.exec(
        insert(ComplaintAccessThrottle).values(key=key.key, failures=0).on_conflict_do_nothing()
    )
    stmt = (
        select(ComplaintAccessThrottle)
        .where(ComplaintAccessThrottle.key == key.key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = (await session.exec(stmt)).one()
    if row.last_failure_at is not None and now - row.last_failure_at > key.policy.forget_after:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    lock = key.policy.lock_for(row.failures)
    row.locked_until = now + lock if lock is not None else None
    session.add(row)
    await session.flush()
    return row.failures


async def clear(session: AsyncSession, key: ThrottleKey) -> None:
    await session.exec(delete(ComplaintAccessThrottle).where(col(ComplaintAccessThrottle.key) == key.key))


def retry_after_seconds(lock: dt.timedelta) -> int:
    return max(1, math.ceil(lock.total_seconds()))
