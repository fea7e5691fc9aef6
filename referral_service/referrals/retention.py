"""Retention of referrals: personal data goes a set time after the case ended.

A referral ends when it is closed (supported, declined by the victim, unreachable) or when consent is
withdrawn (which already destroyed its data at the time; the job only catches anything left over).
`declined_by_branch` is not an end: the case waits for the state office to route it again.

Erasure destroys the case key, clears every ciphertext and blind index of the referral, and removes
repeat-victim links to and from it (they were derived from the victim's phone or e-mail). Status,
category, dates, units, outcome and support codes stay for the statistics.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, update
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.actions import AuditAction
from referral_service.keys.fields import blind_index_columns, encrypted_columns
from referral_service.keys.service import CaseKeys
from referral_service.referrals.audit_actions import ReferralAuditAction
from referral_service.referrals.domain import ReferralStatus
from referral_service.referrals.models import Referral
from referral_service.retention.providers import DATA_KEYS, CaseRetention, Erasure
from referral_service.retention.shredding import shred

CASE_KIND = "referral"
_r = Referral.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class ReferralRetention(CaseRetention):
    period: dt.timedelta
    case_kind: str = CASE_KIND
    erase_action: AuditAction = ReferralAuditAction.RETENTION_ERASE

    model = Referral
    still_open = "The referral is still open: record the withdrawal of consent, which erases it at once."

    def ended_at(self) -> ColumnElement[dt.datetime]:
        return func.coalesce(_r.c.closed_at, _r.c.withdrawn_at)

    def ended_before(self, cutoff: dt.datetime) -> ColumnElement[bool]:
        return or_(
            and_(_r.c.status == ReferralStatus.CLOSED.value, _r.c.closed_at < cutoff),
            and_(_r.c.status == ReferralStatus.WITHDRAWN.value, _r.c.withdrawn_at < cutoff),
        )

    def holds_personal_data(self) -> ColumnElement[bool]:
        columns = [*encrypted_columns(Referral), *blind_index_columns(Referral)]
        return or_(
            DATA_KEYS.c.wrapped.is_not(None),
            _r.c.repeat_of_id.is_not(None),
            *(_r.c[name].is_not(None) for name in columns),
        )

    def ended(self, case: Referral) -> dt.datetime | None:
        if case.status == ReferralStatus.CLOSED:
            return case.closed_at
        if case.status == ReferralStatus.WITHDRAWN:
            return case.withdrawn_at
        return None

    async def erase_case(self, session: AsyncSession, keys: CaseKeys, case: Referral) -> Erasure | None:
        shredded = await shred(session, keys, case.data_key_id, [case])
        unlinked: list[str] = []
        if case.repeat_of_id is not None:
            case.repeat_of_id = None
            unlinked.append("repeat_of")
        session.add(case)
        await session.flush()
        incoming = await session.execute(
            update(_r).where(_r.c.repeat_of_id == case.id).values(repeat_of_id=None)
        )
        if incoming.rowcount:  # type: ignore[attr-defined]
            unlinked.append("repeat_links")
        if not shredded.key_destroyed and not shredded.fields and not unlinked:
            return None
        return Erasure(
            case_id=case.id, key_destroyed=shredded.key_destroyed, fields=shredded.fields, unlinked=unlinked
        )
