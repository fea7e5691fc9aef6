"""Retention of complaints: personal data goes a set time after the complaint was closed.

A complaint is finished when it is closed, forwarded or withdrawn (`closed_at` is set then). Its data
key also encrypts its messages, statement requests and attachments, so destroying that one key makes
all of them unreadable; their ciphertext is cleared as well. The complainant's access goes too: open
sessions are deleted and the access-code hash is replaced by a marker no code can match. Reference,
category, channel, complainant group, outcome codes, follow-up flags and dates stay for the statistics.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, or_, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.audit_actions import ComplaintAuditAction
from complaints.domain import TERMINAL_STATES, ComplaintStatus
from complaints.models import (
    ComplainantSession,
    Complaint,
    ComplaintAttachment,
    ComplaintMessage,
    StatementRequest,
)
from referral_service.audit.actions import AuditAction
from referral_service.keys.fields import encrypted_columns
from referral_service.keys.service import CaseKeys
from referral_service.retention.providers import DATA_KEYS, CaseRetention, Erasure
from referral_service.retention.shredding import shred

CASE_KIND = "complaint"
# In neither stored format of complaints.access_codes: verification of any code against it fails.
ERASED_ACCESS_CODE_HASH = "erased"

_c = Complaint.__table__  # type: ignore[attr-defined]
_sessions = ComplainantSession.__table__  # type: ignore[attr-defined]
_RELATED: Sequence[type[Any]] = (ComplaintMessage, StatementRequest, ComplaintAttachment)
_TERMINAL = sorted(status.value for status in TERMINAL_STATES)


def _any_ciphertext(model: type[Any]) -> ColumnElement[bool]:
    table = model.__table__
    return or_(*(table.c[name].is_not(None) for name in encrypted_columns(model)))


@dataclass(frozen=True, slots=True)
class ComplaintRetention(CaseRetention):
    period: dt.timedelta
    case_kind: str = CASE_KIND
    erase_action: AuditAction = ComplaintAuditAction.RETENTION_ERASE

    model = Complaint
    still_open = "The complaint is still open: close, forward or withdraw it first, then erase it."

    def ended_at(self) -> ColumnElement[dt.datetime]:
        return _c.c.closed_at  # type: ignore[no-any-return]

    def ended_before(self, cutoff: dt.datetime) -> ColumnElement[bool]:
        return and_(_c.c.status.in_(_TERMINAL), _c.c.closed_at < cutoff)

    def holds_personal_data(self) -> ColumnElement[bool]:
        related = [
            exists().where(m.__table__.c.complaint_id == _c.c.id, _any_ciphertext(m))  # type: ignore[attr-defined]
            for m in _RELATED
        ]
        return or_(
            DATA_KEYS.c.wrapped.is_not(None),
            _any_ciphertext(Complaint),
            _c.c.access_code_hash != ERASED_ACCESS_CODE_HASH,
            exists().where(_sessions.c.complaint_id == _c.c.id),
            *related,
        )

    def ended(self, case: Complaint) -> dt.datetime | None:
        return case.closed_at if ComplaintStatus(case.status) in TERMINAL_STATES else None

    async def erase_case(self, session: AsyncSession, keys: CaseKeys, case: Complaint) -> Erasure | None:
        related: list[Any] = []
        for model in _RELATED:
            stmt = select(model).where(col(model.complaint_id) == case.id).with_for_update()
            related.extend((await session.execute(stmt)).scalars().all())
        # One key for the complaint and everything attached to it.
        shredded = await shred(session, keys, case.data_key_id, [case])
        attached = await shred(session, keys, None, related)
        unlinked: list[str] = []
        if case.access_code_hash != ERASED_ACCESS_CODE_HASH:
            case.access_code_hash = ERASED_ACCESS_CODE_HASH
            unlinked.append("access_code")
        session.add(case)
        await session.flush()
        ended = await session.execute(delete(_sessions).where(_sessions.c.complaint_id == case.id))
        if ended.rowcount:  # type: ignore[attr-defined]
            unlinked.append("complainant_sessions")
        fields = tuple(sorted({*shredded.fields, *attached.fields}))
        if not shredded.key_destroyed and not fields and not unlinked:
            return None
        return Erasure(
            case_id=case.id,
            key_destroyed=shredded.key_destroyed,
            fields=fields,
            related_rows=attached.rows,
            unlinked=unlinked,
        )
