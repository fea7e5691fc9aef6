"""Crypto-shredding of one case: destroy its data key, clear the ciphertext and blind indexes of its rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.keys.fields import erase_fields
from referral_service.keys.service import CaseKeys


@dataclass(frozen=True, slots=True)
class Shredded:
    key_destroyed: bool
    # "table.column" of every column that held a value, sorted.
    fields: tuple[str, ...]
    # How many of the rows held anything.
    rows: int


async def shred(
    session: AsyncSession, keys: CaseKeys, key_id: uuid.UUID | None, rows: Sequence[Any]
) -> Shredded:
    """Destroy the case key (every ciphertext under it is unreadable for good), then clear every
    encrypted column and blind index of `rows`, all of which belong to the case."""
    destroyed = await keys.destroy(session, key_id) if key_id is not None else False
    cleared: set[str] = set()
    touched = 0
    for row in rows:
        names = erase_fields(row)
        if names:
            touched += 1
            cleared |= {f"{row.__tablename__}.{name}" for name in names}
            session.add(row)
    return Shredded(key_destroyed=destroyed, fields=tuple(sorted(cleared)), rows=touched)
