"""What every complaint service needs: the request's context, audit events, transitions, deadlines."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from complaints import repository
from complaints.config import ComplaintsConfig
from complaints.deadlines import answer_deadline
from complaints.domain import ComplaintAction, next_status
from complaints.models import Complaint, ComplaintTransition
from crypto import DataKey
from referral_service.audit.recorder import Actor, ActorKind, AuditOutcome, record_event
from referral_service.identity.principal import Principal
from referral_service.keys.service import CaseKeys

CASE_KIND = "complaint"
COMPLAINANT = Actor(ActorKind.COMPLAINANT)


@dataclass(frozen=True, slots=True)
class ComplaintContext:
    """Per request: policy, keys, the service secret and the request's audit fields."""

    config: ComplaintsConfig
    case_keys: CaseKeys
    secret: bytes
    audit: Mapping[str, Any]

    async def key_of(self, session: AsyncSession, complaint: Complaint) -> DataKey:
        assert complaint.data_key_id is not None, "every complaint is created with a data key"
        return await self.case_keys.get(session, complaint.data_key_id)


def actor_of(principal: Principal | None) -> Actor:
    return principal.actor if principal is not None else COMPLAINANT


async def audit(
    session: AsyncSession,
    ctx: ComplaintContext,
    *,
    action: str,
    actor: Actor,
    target_type: str = "complaint",
    target_id: uuid.UUID | None = None,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    details: Mapping[str, Any] | None = None,
) -> None:
    await record_event(
        session,
        action=action,
        actor=actor,
        outcome=outcome,
        target_type=target_type if target_id is not None else None,
        target_id=str(target_id) if target_id is not None else None,
        details=details,
        **ctx.audit,
    )


async def audit_read(
    session: AsyncSession,
    ctx: ComplaintContext,
    *,
    action: str,
    actor: Actor,
    target_type: str,
    target_id: uuid.UUID,
    fields: Sequence[str],
    details: Mapping[str, Any] | None = None,
) -> None:
    """A read of decrypted personal data: which record, which fields."""
    if not fields:
        return
    await audit(
        session,
        ctx,
        action=action,
        actor=actor,
        target_type=target_type,
        target_id=target_id,
        details={"fields": sorted(set(fields)), **(details or {})},
    )


async def transition(
    session: AsyncSession,
    ctx: ComplaintContext,
    complaint: Complaint,
    action: ComplaintAction,
    *,
    principal: Principal | None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Move `complaint` by `action` (409 if not allowed), record the step and audit it."""
    before = complaint.status
    after = next_status(before, action)
    now = ctx.config.now()
    complaint.status = after.value
    complaint.updated_at = now
    session.add(complaint)
    session.add(
        ComplaintTransition(
            complaint_id=complaint.id,
            action=action.value,
            from_status=before,
            to_status=after.value,
            actor_kind="staff" if principal is not None else "complainant",
            actor_id=principal.user_id if principal is not None else None,
            at=now,
        )
    )
    await audit(
        session,
        ctx,
        action=f"complaint:complaint:{action.value}",
        actor=actor_of(principal),
        target_id=complaint.id,
        details={"from_status": before, "to_status": after.value, **(details or {})},
    )


async def refresh_deadline(session: AsyncSession, ctx: ComplaintContext, complaint: Complaint) -> None:
    """Recompute the answer deadline from receipt and the statement requests' pauses."""
    pauses = await repository.pauses_of(session, complaint.id)
    complaint.deadline_on = answer_deadline(ctx.config, complaint.received_on, pauses)
    session.add(complaint)
