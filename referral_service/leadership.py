"""Leadership across instances: of all instances running the same job, one works at a time.

Leadership lasts as long as the caller's transaction, so it passes to another instance the moment
the transaction ends, also when the leader crashes. On PostgreSQL it is an advisory lock whose key
is derived from the job's name: a job is named once and no lock number is declared anywhere. On
SQLite every transaction begins with `BEGIN IMMEDIATE` (`referral_service.db`) and so already holds
the database's write lock, which lets one writer in at a time; there is nothing more to take.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncSession


def lock_key(job: str) -> int:
    """The job's advisory lock key: a signed 64-bit integer, the same in every instance."""
    return int.from_bytes(hashlib.sha256(job.encode()).digest()[:8], "big", signed=True)


async def take_leadership(session: AsyncSession, job: str) -> bool:
    """Lead `job` for the rest of the session's transaction; False when another instance leads it."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    result = await session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": lock_key(job)})
    return bool(result.scalar_one())


def await_leadership(connection: Connection, job: str) -> None:
    """Wait until `job` can be led, then lead it for the rest of the connection's transaction."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(job)})
