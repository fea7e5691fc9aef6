"""What a domain provides so that its cases can be erased: `RetentionProvider`.

Erasing a case means: destroy its data key (`CaseKeys.destroy`), clear every ciphertext and blind
index of the case's rows (`erase_fields`), and remove whatever else ties the case to a person, while
the plain statistical columns stay. A provider must make erasure idempotent: a case that holds nothing
any more is not due, and erasing it again returns None.

`CaseRetention` is that protocol's shared half; a domain subclasses it and says only when a case ended
and what it holds.
"""

from __future__ import annotations

import datetime as dt
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from sqlalchemy import ColumnElement, FromClause, and_, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.actions import AuditAction
from referral_service.keys.models import DataKeyRecord
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
        """ "referral" or "complaint": the erased case's target type in the audit log."""

    @property
    def erase_action(self) -> AuditAction:
        """The domain's `retention:<case_kind>:erase` audit action."""

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


DATA_KEYS = DataKeyRecord.__table__  # type: ignore[attr-defined]


class CaseRetention(ABC):
    """A `RetentionProvider` for one table of cases, each with its own data key.

    Shared: counting and listing the due cases (ended before the cut-off and still holding personal
    data, oldest end first), and erasure's order of steps: lock the case, refuse or skip it while it is
    open, skip it before its period has passed, then let the domain shred it. Subclasses (frozen
    dataclasses with `period` and `case_kind`) declare the rest.
    """

    __slots__ = ()
    # The table model of the cases, with `id` and `data_key_id`.
    model: ClassVar[type[Any]]
    # The detail of `CaseStillOpenError` when someone asks to erase an open case: what to do instead.
    still_open: ClassVar[str]

    @abstractmethod
    def ended_at(self) -> ColumnElement[dt.datetime]:
        """When a case ended, as a column expression (the order in which due cases go)."""

    @abstractmethod
    def ended_before(self, cutoff: dt.datetime) -> ColumnElement[bool]:
        """The case has ended, and before `cutoff`."""

    @abstractmethod
    def holds_personal_data(self) -> ColumnElement[bool]:
        """Anything is left to erase; may use the case's data key row as `DATA_KEYS`."""

    @abstractmethod
    def ended(self, case: Any) -> dt.datetime | None:
        """When this (locked) case ended; None while it is open."""

    @abstractmethod
    async def erase_case(self, session: AsyncSession, keys: CaseKeys, case: Any) -> Erasure | None:
        """Erase a finished case past its period; None when nothing was left."""

    def _cases(self) -> FromClause:
        table = self.model.__table__
        return table.outerjoin(DATA_KEYS, DATA_KEYS.c.id == table.c.data_key_id)  # type: ignore[no-any-return]

    def _due(self, cutoff: dt.datetime) -> ColumnElement[bool]:
        return and_(self.ended_before(cutoff), self.holds_personal_data())

    async def count_due(self, session: AsyncSession, closed_before: dt.datetime) -> int:
        stmt = select(func.count()).select_from(self._cases()).where(self._due(closed_before))
        return int((await session.execute(stmt)).scalar_one())

    async def due(self, session: AsyncSession, closed_before: dt.datetime, limit: int) -> list[uuid.UUID]:
        table = self.model.__table__
        stmt = (
            select(table.c.id)
            .select_from(self._cases())
            .where(self._due(closed_before))
            .order_by(self.ended_at(), table.c.id)
            .limit(limit)
        )
        return list((await session.execute(stmt)).scalars().all())

    async def erase(
        self,
        session: AsyncSession,
        keys: CaseKeys,
        case_id: uuid.UUID,
        *,
        closed_before: dt.datetime | None,
    ) -> Erasure | None:
        case = await session.get(self.model, case_id, with_for_update=True, populate_existing=True)
        if case is None:
            raise CaseNotFoundError()
        ended = self.ended(case)
        if ended is None:
            if closed_before is None:
                raise CaseStillOpenError(self.still_open)
            return None
        if closed_before is not None and ended >= closed_before:
            return None
        return await self.erase_case(session, keys, case)
