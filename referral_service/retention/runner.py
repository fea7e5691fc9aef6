"""The retention job and on-demand erasure, for every domain's `RetentionProvider`.

The job runs in every instance (daily) and from `referral-service retention run`. Each batch is one
transaction that first takes leadership (a PostgreSQL advisory lock; on SQLite the write lock every
transaction takes), so two instances never erase at once and a crash loses at most one batch, which
the next run redoes: a case that holds nothing any more is not due, so running again changes nothing.
Every erasure is audited in the transaction that performs it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.recorder import SYSTEM, Actor, record_event
from referral_service.db import create_session_factory
from referral_service.keys.service import CaseKeys
from referral_service.leadership import take_leadership
from referral_service.logging import get_logger
from referral_service.notifications import repository as notification_repository
from referral_service.retention.providers import Erasure, RetentionProvider

log = get_logger(__name__)

RETENTION_JOB = "retention"
DEFAULT_BATCH_SIZE = 200

Progress = Callable[[str, int], None]


@dataclass
class RetentionRun:
    erased: dict[str, int] = field(default_factory=dict)
    # Another instance held leadership, so this one did nothing.
    skipped: bool = False


async def count_due(
    engine: AsyncEngine, providers: Sequence[RetentionProvider], *, now: dt.datetime
) -> dict[str, int]:
    async with create_session_factory(engine)() as session:
        return {p.case_kind: await p.count_due(session, now - p.period) for p in providers}


async def run_retention(
    engine: AsyncEngine,
    keys: CaseKeys,
    providers: Sequence[RetentionProvider],
    *,
    now: dt.datetime,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> RetentionRun:
    """Erase every case whose retention period has passed; returns how many per case kind."""
    factory = create_session_factory(engine)
    run = RetentionRun()
    for provider in providers:
        cutoff = now - provider.period
        run.erased[provider.case_kind] = 0
        while True:
            async with factory() as session, session.begin():
                if not await take_leadership(session, RETENTION_JOB):
                    run.skipped = True
                    return run
                due = await provider.due(session, cutoff, batch_size)
                done = 0
                for case_id in due:
                    erasure = await provider.erase(session, keys, case_id, closed_before=cutoff)
                    if erasure is not None:
                        await complete_erasure(
                            session,
                            provider,
                            erasure,
                            reason="retention_period",
                            period_days=provider.period.days,
                        )
                        done += 1
            run.erased[provider.case_kind] += done
            if progress is not None:
                progress(provider.case_kind, len(due))
            # `done == 0` guards against a provider whose `due` and `erase` disagree.
            if len(due) < batch_size or done == 0:
                break
    if any(run.erased.values()):
        log.info("retention.erased", **{f"erased_{kind}": n for kind, n in run.erased.items()})
    return run


async def erase_on_request(
    engine: AsyncEngine,
    keys: CaseKeys,
    provider: RetentionProvider,
    case_id: uuid.UUID,
    *,
    actor: Actor = SYSTEM,
) -> Erasure | None:
    """A data subject's erasure request for one finished case, done at once (Art. 17 GDPR).

    Audited even when nothing was left to erase, so the request itself is on record.
    """
    async with create_session_factory(engine)() as session, session.begin():
        erasure = await provider.erase(session, keys, case_id, closed_before=None)
        await complete_erasure(
            session,
            provider,
            erasure or Erasure(case_id=case_id, key_destroyed=False, fields=()),
            reason="erasure_request",
            actor=actor,
        )
    return erasure


async def complete_erasure(
    session: AsyncSession,
    provider: RetentionProvider,
    erasure: Erasure,
    *,
    reason: str,
    period_days: int | None = None,
    actor: Actor = SYSTEM,
) -> None:
    """What every erasure ends with, in its transaction: the case's notifications go too (they hold no
    personal data, but a reference of an erased case has no reason to stay in anyone's list), and the
    audit event."""
    notifications = await notification_repository.delete_for_subject(session, erasure.case_id)
    details: dict[str, object] = {
        "reason": reason,
        "notifications_removed": notifications,
        "key_destroyed": erasure.key_destroyed,
        "fields": list(erasure.fields),
        "related_rows": erasure.related_rows,
        "unlinked": list(erasure.unlinked),
    }
    if period_days is not None:
        details["period_days"] = period_days
    await record_event(
        session,
        action=provider.erase_action,
        actor=actor,
        target_type=provider.case_kind,
        target_id=str(erasure.case_id),
        details=details,
    )
