"""What every complaint service needs: the request's context, audit events, transitions, deadlines."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from complaints import repository
from complaints.audit_actions import TRANSITION_ACTIONS
from complaints.config import ComplaintsConfig
from complaints.deadlines import answer_deadline
from complaints.domain import Category, ComplaintAction, next_status
from complaints.models import Complaint, ComplaintTransition
from crypto import DataKey
from referral_service.audit.actions import AuditAction
from referral_service.audit.recorder import Actor, ActorKind, AuditOutcome, record_event
from referral_service.identity.errors import NotAuthenticatedError
from referral_service.identity.principal import Principal
from referral_service.keys.service import CaseKeys
from referral_service.workflow import transition as kernel_transition

CASE_KIND = "complaint"
COMPLAINANT = Actor(ActorKind.COMPLAINANT)


@dataclass(frozen=True, slots=True)
class ComplaintContext:
    """Everything a use case needs besides its input: who acts, in which transaction, with which keys.

    `principal` is None on the public routes: the public form has no author to name, and the
    complainant is known by their access session (`ComplainantAccess`), passed to their use cases.
    """

    session: AsyncSession
    principal: Principal | None
    config: ComplaintsConfig
    keys: CaseKeys
    secret: bytes
    audit: Mapping[str, Any]

    @property
    def staff(self) -> Principal:
        """The signed-in member of staff an office or police-unit use case acts for."""
        if self.principal is None:
            # Only reachable if a staff use case were mounted on a public route: refuse.
            raise NotAuthenticatedError()
        return self.principal

    async def key_of(self, complaint: Complaint) -> DataKey:
        assert complaint.data_key_id is not None, "every complaint is created with a data key"
        return await self.keys.get(self.session, complaint.data_key_id)


def actor_of(principal: Principal | None) -> Actor:
    return principal.actor if principal is not None else COMPLAINANT


async def audit(
    ctx: ComplaintContext,
    *,
    action: AuditAction,
    actor: Actor,
    target_type: str = "complaint",
    target_id: uuid.UUID | None = None,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    details: Mapping[str, Any] | None = None,
) -> None:
    await record_event(
        ctx.session,
        action=action,
        actor=actor,
        outcome=outcome,
        target_type=target_type if target_id is not None else None,
        target_id=str(target_id) if target_id is not None else None,
        details=details,
        **ctx.audit,
    )


async def audit_read(
    ctx: ComplaintContext,
    *,
    action: AuditAction,
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
        ctx,
        action=action,
        actor=actor,
        target_type=target_type,
        target_id=target_id,
        details={"fields": sorted(set(fields)), **(details or {})},
    )


async def transition(
    ctx: ComplaintContext,
    complaint: Complaint,
    action: ComplaintAction,
    *,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Move `complaint` by `action` (409 if not allowed), record the step and audit it."""
    principal = ctx.principal
    await kernel_transition(
        ctx.session,
        complaint,
        action,
        next_status=next_status,
        transition_row=partial(
            ComplaintTransition,
            complaint_id=complaint.id,
            actor_kind="staff" if principal is not None else "complainant",
            actor_id=principal.user_id if principal is not None else None,
        ),
        action=TRANSITION_ACTIONS[action],
        actor=actor_of(principal),
        at=ctx.config.now(),
        target_type="complaint",
        audit=ctx.audit,
        details=details,
    )


async def refresh_deadline(ctx: ComplaintContext, complaint: Complaint) -> None:
    """Recompute the answer deadline from receipt and the statement requests' pauses."""
    pauses = await repository.pauses_of(ctx.session, complaint.id)
    complaint.deadline_on = answer_deadline(ctx.config, complaint.received_on, pauses)
    ctx.session.add(complaint)


async def set_categories(
    session: AsyncSession, complaint: Complaint, primary: Category, further: Sequence[Category]
) -> list[str]:
    """The complaint's content categories: exactly one primary (also copied to `complaint.category`,
    which the lists show and filter by) and the further ones, each once. Returns the further codes."""
    codes = sorted({category.value for category in further} - {primary.value})
    complaint.category = primary.value
    await repository.replace_categories(session, complaint.id, primary.value, codes)
    return codes
