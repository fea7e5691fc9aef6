"""All SQL of the audit log. Reads and appends only: the tables refuse anything else."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, func, select, text, true
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from referral_service.audit.models import AuditCheckpoint, AuditEvent, AuditLogEntry
from referral_service.audit.recorder import EVENT_COLUMN_ORDER, canonical_event_bytes
from referral_service.listing import Keyset, SortKey

events = AuditEvent.__table__  # type: ignore[attr-defined]
log = AuditLogEntry.__table__  # type: ignore[attr-defined]
checkpoints = AuditCheckpoint.__table__  # type: ignore[attr-defined]

EVENT_COLUMNS = tuple(events.c[name] for name in EVENT_COLUMN_ORDER)


async def log_size(session: AsyncSession | AsyncConnection) -> int:
    result = await session.execute(select(func.coalesce(func.max(log.c.seq) + 1, 0)))
    return int(result.scalar_one())


async def unsequenced_events(session: AsyncSession, limit: int) -> Sequence[Sequence[Any]]:
    query = (
        select(*EVENT_COLUMNS)
        .outerjoin(log, log.c.event_id == events.c.id)
        .where(log.c.seq.is_(None))
        .order_by(events.c.id)
        .limit(limit)
    )
    return (await session.execute(query)).all()


async def count_events(connection: AsyncConnection) -> int:
    return int((await connection.execute(select(func.count()).select_from(events))).scalar_one())


async def count_unsequenced(session: AsyncSession | AsyncConnection) -> int:
    query = (
        select(func.count())
        .select_from(events.outerjoin(log, log.c.event_id == events.c.id))
        .where(log.c.seq.is_(None))
    )
    return int((await session.execute(query)).scalar_one())


async def append_log_entries(session: AsyncSession, entries: list[dict[str, object]]) -> None:
    if entries:
        await session.execute(log.insert(), entries)


# Verification reads the log and the events as two join-free streams in primary-key ranges. On
# PostgreSQL each chunk is one aggregated value built in C (the record text of every event, split by
# U+001D; fixed 80-byte log records), so the client decodes a few byte strings instead of many rows.
# Events are looked up by id, so their order inside a chunk does not matter and is not sorted for.
_PG_EVENTS = (
    # Both aggregates consume the rows in the same order, so ids and texts line up.
    "SELECT array_agg(e.id), string_agg(textsend(ROW("  # noqa: S608 - our own column names
    + ", ".join(f"e.{name}" for name in EVENT_COLUMN_ORDER)
    + ")::text), '\\x1d'::bytea) FROM audit_events e WHERE e.id >= $1 AND e.id < $2"
)
_PG_LOG = (
    "SELECT string_agg(int8send(seq) || int8send(event_id) || leaf_hash || mac, ''::bytea ORDER BY seq), "
    "bool_and(length(leaf_hash) = 32 AND length(mac) = 32) FROM audit_log WHERE seq >= $1 AND seq < $2"
)
LOG_RECORD = struct.Struct(">qq32s32s")

LogRecord = tuple[int, int, bytes, bytes]


async def event_chunk(connection: AsyncConnection, raw: Any, start_id: int, end_id: int) -> dict[int, bytes]:
    """Canonical bytes of the events with start_id <= id < end_id, by id."""
    if raw is not None:
        ids, blob = await raw.fetchrow(_PG_EVENTS, start_id, end_id)
        if blob is None:
            return {}
        return dict(zip(ids, blob.split(b"\x1d"), strict=True))
    query = select(*EVENT_COLUMNS).where(events.c.id >= start_id, events.c.id < end_id)
    return {int(row[0]): canonical_event_bytes(row) for row in (await connection.execute(query)).all()}


async def log_chunk(connection: AsyncConnection, raw: Any, start: int, end: int) -> list[LogRecord]:
    """Log entries start <= seq < end as (seq, event_id, leaf_hash, mac), in position order."""
    if raw is not None:
        blob, well_formed = await raw.fetchrow(_PG_LOG, start, end)
        if blob is None:
            return []
        if well_formed:
            return list(LOG_RECORD.iter_unpack(blob))
    # SQLite, or a chunk with malformed hashes that must be reported entry by entry.
    query = (
        select(log.c.seq, log.c.event_id, log.c.leaf_hash, log.c.mac)
        .where(log.c.seq >= start, log.c.seq < end)
        .order_by(log.c.seq)
    )
    return [(int(r[0]), int(r[1]), bytes(r[2]), bytes(r[3])) for r in (await connection.execute(query)).all()]


async def raw_postgres_connection(connection: AsyncConnection) -> Any:
    """The asyncpg connection under `connection` on PostgreSQL (for the bulk reads above), else None."""
    if connection.dialect.name != "postgresql":
        return None
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def max_event_id(connection: AsyncConnection) -> int:
    result = await connection.execute(select(func.coalesce(func.max(events.c.id), 0)))
    return int(result.scalar_one())


async def max_seq(connection: AsyncConnection) -> int:
    """Highest position present (-1 for an empty log); unlike `log_size`, not fooled by gaps."""
    result = await connection.execute(select(func.coalesce(func.max(log.c.seq), -1)))
    return int(result.scalar_one())


async def leaf_hashes(session: AsyncSession | AsyncConnection, tree_size: int) -> list[bytes]:
    query = select(log.c.leaf_hash).where(log.c.seq < tree_size).order_by(log.c.seq)
    return [bytes(row[0]) for row in (await session.execute(query)).all()]


async def entry_at(session: AsyncSession, seq: int) -> Sequence[Any] | None:
    """The log entry at `seq` with its event: the event's columns (in `EVENT_COLUMN_ORDER`, all None
    when the event is gone), then the entry's leaf hash and position MAC. None when no entry is there."""
    query = (
        select(*EVENT_COLUMNS, log.c.leaf_hash, log.c.mac)
        .select_from(log.outerjoin(events, events.c.id == log.c.event_id))
        .where(log.c.seq == seq)
    )
    return (await session.execute(query)).first()


async def checkpoints_in_order(
    session: AsyncSession | AsyncConnection, *, newest_first: bool = False, limit: int | None = None
) -> list[AuditCheckpointRow]:
    query = select(
        checkpoints.c.tree_size,
        checkpoints.c.root_hash,
        checkpoints.c.created_at_us,
        checkpoints.c.signed_text,
    ).order_by(checkpoints.c.tree_size.desc() if newest_first else checkpoints.c.tree_size)
    if limit is not None:
        query = query.limit(limit)
    return [
        AuditCheckpointRow(int(r[0]), bytes(r[1]), int(r[2]), str(r[3]))
        for r in (await session.execute(query)).all()
    ]


async def insert_checkpoint(session: AsyncSession, row: AuditCheckpointRow) -> None:
    await session.execute(
        checkpoints.insert().values(
            tree_size=row.tree_size,
            root_hash=row.root_hash,
            created_at_us=row.created_at_us,
            signed_text=row.signed_text,
        )
    )


@dataclass(frozen=True, slots=True)
class EventFilter:
    """An auditor's search criteria; None means "any". Times are microseconds, `until_us` exclusive."""

    actor_ids: tuple[str, ...] | None = None
    action: str | None = None
    outcome: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since_us: int | None = None
    until_us: int | None = None

    def used(self) -> list[str]:
        """The names of the criteria in use (recorded in the log; their values never are)."""
        return sorted(name for name in self.__slots__ if getattr(self, name) is not None)


# Newest first; the id makes the order total (two events may share a microsecond). Every filter's index
# ends in these two columns (models.AuditEvent), so a page is one index range read backwards.
EVENT_ORDER = Keyset(
    SortKey(events.c.occurred_at_us, "occurred_at_us", int, descending=True),
    SortKey(events.c.id, "id", int, descending=True),
)


def events_matching(criteria: EventFilter) -> Select[Any]:
    """The events that match `criteria`, unordered (`EVENT_ORDER` pages them)."""
    conditions: list[ColumnElement[bool]] = []
    if criteria.actor_ids is not None:
        conditions.append(events.c.actor_id.in_(criteria.actor_ids))
    for name in ("action", "outcome", "target_type", "target_id"):
        value = getattr(criteria, name)
        if value is not None:
            conditions.append(events.c[name] == value)
    if criteria.since_us is not None:
        conditions.append(events.c.occurred_at_us >= criteria.since_us)
    if criteria.until_us is not None:
        conditions.append(events.c.occurred_at_us < criteria.until_us)
    return select(AuditEvent).where(and_(true(), *conditions))


async def positions_of(session: AsyncSession, event_ids: Sequence[int]) -> dict[int, int]:
    """The log positions of these events (by event id); an event not yet sequenced has none."""
    if not event_ids:
        return {}
    query = select(log.c.event_id, log.c.seq).where(log.c.event_id.in_(set(event_ids)))
    return {int(event_id): int(seq) for event_id, seq in (await session.execute(query)).all()}


async def target_types(session: AsyncSession) -> list[str]:
    """The distinct target types in the log, found by one index step per type (a loose index scan)
    instead of reading every event."""
    steps = text(
        "WITH RECURSIVE kinds(kind) AS ("
        " SELECT min(target_type) FROM audit_events"
        " UNION ALL"
        " SELECT (SELECT min(target_type) FROM audit_events WHERE target_type > kinds.kind)"
        " FROM kinds WHERE kinds.kind IS NOT NULL"
        ") SELECT kind FROM kinds WHERE kind IS NOT NULL"
    )
    return [str(kind) for kind in (await session.execute(steps)).scalars()]


async def events_after_id(
    session: AsyncSession, criteria: EventFilter, after_id: int, limit: int
) -> Sequence[AuditEvent]:
    """The API's earlier paging, kept for its clients: events with a larger id, oldest first."""
    query = events_matching(criteria).where(events.c.id > after_id).order_by(events.c.id).limit(limit)
    return cast(Sequence[AuditEvent], (await session.execute(query)).scalars().all())


@dataclass(frozen=True, slots=True)
class AuditCheckpointRow:
    tree_size: int
    root_hash: bytes
    created_at_us: int
    signed_text: str
