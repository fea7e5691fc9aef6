"""Gauges of waiting work: how each is declared, and the kernel's own (audit log, e-mail outbox).

A domain declares its gauges on its `Domain` (`gauges`); the kernel does not know what they count.
Each gauge is one cheap query, grouped by organisation unit at most, run by the refresh job
(`referral_service.metrics.state`), never by a scrape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.models import AuditCheckpoint, AuditEvent, AuditLogEntry
from referral_service.db import utcnow
from referral_service.notifications.delivery import delivery_summary
from referral_service.notifications.models import EmailState
from referral_service.notifications.repository import oldest_pending

PREFIX = "referral_service"
UNIT = "unit_id"

# A gauge's values by their label values (in the order of `labels`; () for a gauge without labels).
Values = Mapping[tuple[str, ...], float]


@dataclass(frozen=True, slots=True)
class Gauge:
    """One gauge: `name` without the service's prefix, the help text Prometheus shows, its labels
    (none, or `unit_id`; never anything about a person) and the query that measures it."""

    name: str
    documentation: str
    measure: Callable[[AsyncSession], Awaitable[Values]]
    labels: tuple[str, ...] = ()

    @property
    def full_name(self) -> str:
        return f"{PREFIX}_{self.name}"


def by_unit(rows: Iterable[Sequence[Any]]) -> Values:
    """Rows of (unit id or None, count) as values by `unit_id`; a case without a unit (not yet routed)
    counts under the empty label."""
    return {("" if unit is None else str(unit),): float(count) for unit, count in rows}


async def _audit_unsequenced(session: AsyncSession) -> Values:
    # The sequencer appends events in id order, so those above the highest sequenced one wait (an
    # anti-join over the whole table would be exact but grows with the log).
    sequenced = select(func.coalesce(func.max(AuditLogEntry.event_id), 0)).scalar_subquery()
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.id > sequenced)  # type: ignore[operator]
    return {(): float((await session.execute(query)).scalar_one())}


async def _audit_uncheckpointed(session: AsyncSession) -> Values:
    size = select(func.coalesce(func.max(AuditLogEntry.seq) + 1, 0)).scalar_subquery()
    covered = select(func.coalesce(func.max(AuditCheckpoint.tree_size), 0)).scalar_subquery()
    return {(): float((await session.execute(select(size - covered))).scalar_one())}


async def _audit_last_checkpoint(session: AsyncSession) -> Values:
    newest = (await session.execute(select(func.max(AuditCheckpoint.created_at_us)))).scalar_one()
    return {} if newest is None else {(): newest / 1_000_000}


# The outbox's states that wait for the sender or for an administrator (sent e-mails are no backlog).
_WAITING_STATES = (
    EmailState.PENDING,
    EmailState.DIGEST,
    EmailState.SENDING,
    EmailState.DEAD,
    EmailState.UNCERTAIN,
)


async def _emails(session: AsyncSession) -> Values:
    summary = await delivery_summary(session, utcnow())
    return {(str(state),): float(getattr(summary, state.value)) for state in _WAITING_STATES}


async def _oldest_pending(session: AsyncSession) -> Values:
    oldest = await oldest_pending(session)
    return {(): max(utcnow() - oldest, dt.timedelta(0)).total_seconds() if oldest is not None else 0.0}


KERNEL_GAUGES: tuple[Gauge, ...] = (
    Gauge(
        "audit_unsequenced_events",
        "Audit events recorded but not yet in the sequenced log (the sequencer runs every second).",
        _audit_unsequenced,
    ),
    Gauge(
        "audit_uncheckpointed_entries",
        "Entries of the audit log not yet covered by a signed checkpoint.",
        _audit_uncheckpointed,
    ),
    Gauge(
        "audit_last_checkpoint_timestamp_seconds",
        "When the newest audit checkpoint was signed (Unix time); absent before the first.",
        _audit_last_checkpoint,
    ),
    Gauge(
        "notification_emails",
        "Notification e-mails by state: waiting to be sent (pending, digest, sending) or given up"
        " (dead, uncertain: an administrator decides).",
        _emails,
        labels=("state",),
    ),
    Gauge(
        "notification_oldest_pending_age_seconds",
        "How long the oldest e-mail waiting to be sent has waited (0 when none waits).",
        _oldest_pending,
    ),
)
