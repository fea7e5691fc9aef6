"""All SQL on the wrapped data keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from referral_service.db import utcnow
from referral_service.keys.models import DataKeyRecord

keys_table = DataKeyRecord.__table__  # type: ignore[attr-defined]


async def add(session: AsyncSession, record: DataKeyRecord) -> None:
    session.add(record)
    await session.flush()


async def get(session: AsyncSession, key_id: uuid.UUID) -> DataKeyRecord | None:
    return await session.get(DataKeyRecord, key_id, populate_existing=True)


async def get_many(session: AsyncSession, key_ids: Iterable[uuid.UUID]) -> Sequence[DataKeyRecord]:
    """The records of the given keys, in one query (a list page opens fields of many cases)."""
    wanted = set(key_ids)
    if not wanted:
        return []
    query = select(DataKeyRecord).where(keys_table.c.id.in_(wanted)).execution_options(populate_existing=True)
    return (await session.execute(query)).scalars().all()


async def destroy(session: AsyncSession, key_id: uuid.UUID) -> bool:
    """Clear the wrapped key; True when this call destroyed it (False: unknown or already destroyed)."""
    result = await session.execute(
        update(keys_table)
        .where(keys_table.c.id == key_id, keys_table.c.wrapped.is_not(None))
        .values(wrapped=None, kek_version=None, destroyed_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def count_by_kek_version(session: AsyncSession) -> dict[int, int]:
    query = (
        select(keys_table.c.kek_version, func.count())
        .where(keys_table.c.wrapped.is_not(None))
        .group_by(keys_table.c.kek_version)
    )
    return {int(version): int(count) for version, count in (await session.execute(query)).all()}


async def wrapped_below_version(
    session: AsyncSession, version: int, limit: int
) -> Sequence[tuple[uuid.UUID, int, bytes]]:
    query = (
        select(keys_table.c.id, keys_table.c.kek_version, keys_table.c.wrapped)
        .where(keys_table.c.wrapped.is_not(None), keys_table.c.kek_version != version)
        .order_by(keys_table.c.id)
        .limit(limit)
    )
    return [(row[0], int(row[1]), bytes(row[2])) for row in (await session.execute(query)).all()]


async def store_rewrapped(
    session: AsyncSession, key_id: uuid.UUID, old_version: int, version: int, blob: bytes
) -> bool:
    """Replace a wrapped key, unless it changed (or was shredded) since it was read."""
    result = await session.execute(
        update(keys_table)
        .where(
            keys_table.c.id == key_id,
            keys_table.c.kek_version == old_version,
            keys_table.c.wrapped.is_not(None),
        )
        .values(kek_version=version, wrapped=blob)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
