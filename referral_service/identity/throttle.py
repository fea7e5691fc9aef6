"""Login throttling per account and per client address, shared by all instances through the database.

Keys are keyed hashes (HMAC of the typed username; the audit client hash), so the table holds no
usernames or addresses, and unknown usernames are throttled exactly like known ones: a lock reveals
nothing about whether an account exists.

Concurrency: the row is created with INSERT .. ON CONFLICT DO NOTHING, then read FOR UPDATE
(PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), so concurrent failures from
several instances are all counted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
from dataclasses import dataclass

from sqlalchemy import delete, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.config import ThrottlePolicy
from referral_service.identity.models import LoginThrottle


@dataclass(frozen=True, slots=True)
class ThrottleKey:
    key: str
    policy: ThrottlePolicy


def hashed_key(prefix: str, service_secret: bytes, value: str, policy: ThrottlePolicy) -> ThrottleKey:
    """A key for a value that must not be stored (a typed username, a complaint reference): a keyed hash
    under a key of its own per prefix, so the same value in another namespace gives another key."""
    mac_key = hashlib.sha256(f"throttle:{prefix}:v1:".encode() + service_secret).digest()
    digest = hmac.new(mac_key, value.encode(), hashlib.sha256).hexdigest()[:40]
    return ThrottleKey(f"{prefix}:{digest}", policy)


def account_key(service_secret: bytes, username: str, policy: ThrottlePolicy) -> ThrottleKey:
    return hashed_key("account", service_secret, username.strip().lower(), policy)


def client_key(client_hash: str, policy: ThrottlePolicy, *, prefix: str = "client") -> ThrottleKey:
    """Failures per client address (its audit hash); `prefix` keeps separate counts per purpose."""
    return ThrottleKey(f"{prefix}:{client_hash}", policy)


async def remaining_lock(
    session: AsyncSession, keys: list[ThrottleKey], now: dt.datetime
) -> dt.timedelta | None:
    """The longest lock still running on any of `keys`, or None."""
    if not keys:
        return None
    stmt = select(LoginThrottle).where(col(LoginThrottle.key).in_([k.key for k in keys]))
    longest: dt.timedelta | None = None
    for row in (await session.exec(stmt)).all():
        if row.locked_until is not None and row.locked_until > now:
            left = row.locked_until - now
            longest = left if longest is None or left > longest else longest
    return longest


async def record_failure(session: AsyncSession, key: ThrottleKey, now: dt.datetime) -> int:
    """Count a failure against `key`, locking it when the policy says so. Returns the count."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.exec(insert(LoginThrottle).values(key=key.key, failures=0).on_conflict_do_nothing())
    # populate_existing: the lock check may have loaded this row already; use the locked, fresh values.
    stmt = (
        select(LoginThrottle)
        .where(LoginThrottle.key == key.key)
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
    await session.exec(delete(LoginThrottle).where(col(LoginThrottle.key) == key.key))


def retry_after_seconds(lock: dt.timedelta) -> int:
    return max(1, math.ceil(lock.total_seconds()))


async def purge_stale(session: AsyncSession, now: dt.datetime, forget_after: dt.timedelta) -> int:
    """Delete rows whose failures are forgotten and whose lock has ended.

    Every distinct typed username leaves a row, so an attacker could grow the table at will; a
    periodic job calls this (with the longest `forget_after` of the policies) to keep it small.
    """
    stmt = delete(LoginThrottle).where(
        col(LoginThrottle.last_failure_at) < now - forget_after,
        or_(col(LoginThrottle.locked_until).is_(None), col(LoginThrottle.locked_until) <= now),
    )
    result = await session.exec(stmt)
    return int(result.rowcount or 0)
