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
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.keys.fields import blind_index_columns, encrypted_columns
from referral_service.keys.models import DataKeyRecord
from referral_service.keys.service import CaseKeys
from referral_service.referrals.domain import ReferralStatus
from referral_service.referrals.models import Referral
from referral_service.retention.providers import CaseNotFoundError, CaseStillOpenError, Erasure
from referral_service.retention.shredding import shred

CASE_KIND = "referral"
_r = Referral.__table__  # type: ignore[attr-defined]
_k = DataKeyRecord.__table__  # type: ignore[attr-defined]


def _ended_at() -> ColumnElement[dt.datetime]:
    return func.coalesce(_r.c.closed_at, _r.c.withdrawn_at)


def _ended_before(cutoff: dt.datetime) -> ColumnElement[bool]:
    return or_(
        and_(_r.c.status == ReferralStatus.CLOSED.value, _r.c.closed_at < cutoff),
        and_(_r.c.status == ReferralStatus.WITHDRAWN.value, _r.c.withdrawn_at < cutoff),
    )


def _holds_personal_data() -> ColumnElement[bool]:
    columns = [*encrypted_columns(Referral), *blind_index_columns(Referral)]
    return or_(
        _k.c.wrapped.is_not(None),
        _r.c.repeat_of_id.is_not(None),
        *(_r.c[name].is_not(None) for name in columns),
    )


def _due(cutoff: dt.datetime) -> ColumnElement[bool]:
    return and_(_ended_before(cutoff), _holds_personal_data())


@dataclass(frozen=True, slots=True)
class ReferralRetention:
    period: dt.timedelta
    case_kind: str = CASE_KIND

    async def count_due(self, session: AsyncSession, closed_before: dt.datetime) -> int:
        stmt = (
            select(func.count())
            .select_from(_r.outerjoin(_k, _k.c.id == _r.c.data_key_id))
            .where(_due(closed_before))
        )
        return int((await session.execute(stmt)).scalar_one())

    async def due(self, session: AsyncSession, closed_before: dt.datetime, limit: int) -> list[uuid.UUID]:
        stmt = (
            select(_r.c.id)
            .select_from(_r.outerjoin(_k, _k.c.id == _r.c.data_key_id))
            .where(_due(closed_before))
            .order_by(_ended_at(), _r.c.id)
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
        referral = await session.get(Referral, case_id, with_for_update=True, populate_existing=True)
        if referral is None:
            raise CaseNotFoundError()
        ended = referral.closed_at if referral.status == ReferralStatus.CLOSED else None
        if referral.status == ReferralStatus.WITHDRAWN:
            ended = referral.withdrawn_at
        if ended is None:
            if closed_before is None:
                raise CaseStillOpenError(
                    "The referral is still open: record the withdrawal of consent, which erases it at once."
                )
            return None
        if closed_before is not None and ended >= closed_before:
            return None
        shredded = await shred(session, keys, referral.data_key_id, [referral])
        unlinked: list[str] = []
        if referral.repeat_of_id is not None:
            referral.repeat_of_id = None
            unlinked.append("repeat_of")
        session.add(referral)
        await session.flush()
        incoming = await session.execute(
            update(_r).where(_r.c.repeat_of_id == case_id).values(repeat_of_id=None)
        )
        if incoming.rowcount:  # type: ignore[attr-defined]
            unlinked.append("repeat_links")
        if not shredded.key_destroyed and not shredded.fields and not unlinked:
            return None
        return Erasure(
            case_id=case_id, key_destroyed=shredded.key_destroyed, fields=shredded.fields, unlinked=unlinked
        )
