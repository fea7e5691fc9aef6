"""What a domain provides so that its cases can be erased: `RetentionProvider`.

Erasing a case means: destroy its data key (`CaseKeys.destroy`), clear every ciphertext and blind
index of the case's rows (`erase_fields`), and remove whatever else ties the case to a person, while
the plain statistical columns stay. A provider must make erasure idempotent: a case that holds nothing
any more is not due, and erasing it again returns None.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.keys.service import CaseKeys
from referral_service.problems import DomainError, ErrorKind


class CaseNotFoundError(DomainError):
    code = "retention.case_not_found"
    kind = ErrorKind.NOT_FOUND
    title = "No such case"


class CaseStillOpenError(DomainError):
    code = "retention.case_open"
    kind = ErrorKind.CONFLICT
    title = "The case is still open"


@dataclass(frozen=True, slots=True)
class Erasure:
    """What one erasure removed: ids and column names only (it goes into the audit log)."""

    case_id: uuid.UUID
    key_destroyed: bool
    # "table.column" of every column that held a value, sorted.
    fields: tuple[str, ...]
    # Rows other than the case row whose personal data went too (messages, attachments, ...).
    related_rows: int = 0
    # Other links removed (sessions, repeat-victim links), by kind.
    unlinked: Sequence[str] = ()


class RetentionProvider(Protocol):
    @property
    def case_kind(self) -> str:
        """ "referral" or "complaint": names the audit action `retention:<case_kind>:erase`."""

    @property
    def period(self) -> dt.timedelta:
        """How long after its closure a case keeps its personal data."""

    async def count_due(self, session: AsyncSession, closed_before: dt.datetime) -> int:
        """How many cases closed before `closed_before` still hold personal data."""

    async def due(self, session: AsyncSession, closed_before: dt.datetime, limit: int) -> list[uuid.UUID]:
        """Up to `limit` of them, oldest first."""

    async def erase(
        self,
        session: AsyncSession,
        keys: CaseKeys,
        case_id: uuid.UUID,
        *,
        closed_before: dt.datetime | None,
    ) -> Erasure | None:
        """Erase one case, locking its row first. With `closed_before`, only a case closed before then
        (the retention job); without, any finished case (an erasure request), else `CaseStillOpenError`.
        `CaseNotFoundError` for an unknown id; None when nothing was left to erase."""
