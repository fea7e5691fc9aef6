"""What every referral use case needs: the request's context, locking, transitions and audit.

Every use case runs in the request's transaction: the change, its transition record and its audit
event commit together or not at all. Transitions lock the referral row first (PostgreSQL `FOR UPDATE`,
SQLite's database write lock), so of concurrent attempts exactly one sees the old state.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from crypto import KeyDestroyedError
from referral_service.audit.recorder import Actor, record_event
from referral_service.identity.principal import Principal
from referral_service.keys.service import CaseKeys
from referral_service.referrals import repository
from referral_service.referrals.audit_actions import TRANSITION_ACTIONS, ReferralAuditAction
from referral_service.referrals.domain import ReferralAction, next_status
from referral_service.referrals.errors import ReferralNotFoundError
from referral_service.referrals.models import Referral, ReferralTransition
from referral_service.referrals.policy import ReferralPolicy
from referral_service.workflow import transition

CASE_KIND = "referral"
TARGET = "referral"


@dataclass(frozen=True, slots=True)
class ReferralContext:
    """Everything a use case needs besides its input: who acts, in which transaction, with which keys."""

    session: AsyncSession
    principal: Principal
    keys: CaseKeys
    policy: ReferralPolicy
    audit: Mapping[str, Any]

    def now(self) -> dt.datetime:
        return self.policy.clock()


async def locked(ctx: ReferralContext, referral_id: uuid.UUID) -> Referral:
    referral = await repository.get_visible(ctx.session, ctx.principal, referral_id, for_update=True)
    if referral is None:
        raise ReferralNotFoundError()
    return referral


async def for_action(ctx: ReferralContext, referral_id: uuid.UUID, action: ReferralAction) -> Referral:
    """The referral, locked, if `action` is possible in its state; checked before the use case's own
    checks so that a step in the wrong state is always a 409."""
    referral = await locked(ctx, referral_id)
    next_status(referral.status, action)
    return referral


async def move(
    ctx: ReferralContext, referral: Referral, action: ReferralAction, now: dt.datetime, **details: Any
) -> None:
    """Take the step `action`, record it and audit it (with `details`), in the request's transaction."""
    await transition(
        ctx.session,
        referral,
        action,
        next_status=next_status,
        transition_row=partial(ReferralTransition, referral_id=referral.id, actor_id=ctx.principal.user_id),
        action=TRANSITION_ACTIONS[action],
        actor=ctx.principal.actor,
        at=now,
        target_type=TARGET,
        audit=ctx.audit,
        details=details,
    )


async def audit(
    ctx: ReferralContext, action: ReferralAuditAction, referral: Referral, **details: Any
) -> None:
    await audit_referral(ctx.session, ctx.principal.actor, action, referral, ctx.audit, **details)


async def audit_referral(
    session: AsyncSession,
    actor: Actor,
    action: ReferralAuditAction,
    referral: Referral,
    audit: Mapping[str, Any],
    **details: Any,
) -> None:
    await record_event(
        session,
        action=action,
        actor=actor,
        target_type=TARGET,
        target_id=str(referral.id),
        details=details,
        **audit,
    )


def key_id(referral: Referral) -> uuid.UUID:
    if referral.data_key_id is None:
        raise KeyDestroyedError("referral has no data key")
    return referral.data_key_id


def codes(values: list[Any]) -> str:
    return ",".join(sorted({str(value) for value in values}))
