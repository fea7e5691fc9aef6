"""Leadership across instances: of all instances running the same job, one works at a time.

Leadership lasts as long as the caller's transaction, so it passes to another instance the moment
the transaction ends, also when the leader crashes. On PostgreSQL it is an advisory lock whose key
is derived from the job's name: a job is named once and no lock number is declared anywhere. On
SQLite every transaction begins with `BEGIN IMMEDIATE` (`referral_service.db`) and so already holds
the database's write lock, which lets one writer in at a time; there is nothing more to take.

Each leadership taken is logged at debug level as `job.led` with the lock's name and when it was led
(`led_from`, `led_until`: epoch seconds), and a refused one as `job.not_led`; the job runner adds the
job's name and the instance (`referral_service.jobs`). The interval is stamped inside the lock: from
after taking it to before the commit (or after the rollback) that releases it, so the intervals of
two instances' logs never overlap unless the leaderships did.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from sqlalchemy import Connection, event, text
from sqlalchemy.ext.asyncio import AsyncSession

from referral_service.logging import get_logger

log = get_logger(__name__)


def lock_key(job: str) -> int:
    """The job's advisory lock key: a signed 64-bit integer, the same in every instance."""
    return int.from_bytes(hashlib.sha256(job.encode()).digest()[:8], "big", signed=True)


async def take_leadership(session: AsyncSession, job: str) -> bool:
    """Lead `job` for the rest of the session's transaction; False when another instance leads it."""
    if session.get_bind().dialect.name == "postgresql":
        result = await session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": lock_key(job)})
        if not result.scalar_one():
            log.debug("job.not_led", lock=job)
            return False
    _log_when_released(session, job)
    return True


def _log_when_released(session: AsyncSession, job: str) -> None:
    led_from = time.time()
    sync_session = session.sync_session
    logged = False

    def released(*_args: Any) -> None:
        # Both listeners stay until the session ends; the first end of this transaction logs.
        nonlocal logged
        if not logged:
            logged = True
            log.debug("job.led", lock=job, led_from=led_from, led_until=time.time())

    event.listen(sync_session, "before_commit", released, once=True)
    event.listen(sync_session, "after_rollback", released, once=True)


def await_leadership(connection: Connection, job: str) -> None:
    """Wait until `job` can be led, then lead it for the rest of the connection's transaction."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(job)})
