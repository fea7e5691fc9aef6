"""The WEISSER RING's steps with a referral, and the victim's withdrawal of consent."""

from __future__ import annotations

import datetime as dt
import uuid

from referral_service.identity.roles import UnitKind
from referral_service.keys.fields import erase_fields
from referral_service.referrals import notifications, repository
from referral_service.referrals.domain import CLOSE_FROM, CloseOutcome, ReferralAction, ReferralStatus
from referral_service.referrals.errors import (
    InvalidAssigneeError,
    InvalidTransitionError,
    ReferralInvalidError,
    ReferralNotFoundError,
    SupportRequiredError,
    UnknownBranchError,
)
from referral_service.referrals.models import ContactAttempt, Referral
from referral_service.referrals.schemas import Close, ContactAttemptCreate, FirstContact
from referral_service.referrals.service.common import ReferralContext, codes, for_action, key_id, move


async def accept(ctx: ReferralContext, referral_id: uuid.UUID) -> Referral:
    referral = await for_action(ctx, referral_id, ReferralAction.ACCEPT)
    if referral.branch_id != ctx.principal.unit_id:
        raise InvalidTransitionError("Only the branch the referral is routed to can accept it.")
    now = ctx.now()
    referral.assignee_id = ctx.principal.user_id
    referral.accepted_at = now
    await move(ctx, referral, ReferralAction.ACCEPT, now)
    return referral


async def assign(ctx: ReferralContext, referral_id: uuid.UUID, assignee_id: uuid.UUID) -> Referral:
    """The branch lead gives the case to a volunteer of the branch (accepting it, if still open)."""
    referral = await for_action(ctx, referral_id, ReferralAction.ASSIGN)
    if referral.branch_id != ctx.principal.unit_id:
        raise ReferralNotFoundError()
    if not await repository.is_active_branch_member(ctx.session, assignee_id, referral.branch_id):
        raise InvalidAssigneeError()
    now = ctx.now()
    referral.assignee_id = assignee_id
    if referral.status == ReferralStatus.SUBMITTED:
        referral.accepted_at = now
    await move(ctx, referral, ReferralAction.ASSIGN, now, assignee=str(assignee_id))
    await notifications.assigned(ctx.session, referral, now=now, actor_id=ctx.principal.user_id)
    return referral


async def decline(ctx: ReferralContext, referral_id: uuid.UUID, reason: str) -> Referral:
    """The branch cannot take the case: it goes back to the state office for routing."""
    referral = await for_action(ctx, referral_id, ReferralAction.DECLINE)
    if referral.branch_id != ctx.principal.unit_id:
        raise InvalidTransitionError("Only the branch the referral is routed to can decline it.")
    now = ctx.now()
    referral.declined_by_branch_id = referral.branch_id
    referral.branch_id = None
    referral.assignee_id = None
    referral.decline_reason = reason
    referral.declined_at = now
    await move(ctx, referral, ReferralAction.DECLINE, now, reason=reason)
    await notifications.arrived(ctx.session, referral, now=now, actor_id=ctx.principal.user_id)
    return referral


async def route(ctx: ReferralContext, referral_id: uuid.UUID, branch_id: uuid.UUID) -> Referral:
    """The state office sends an unrouted, declined or escalated referral to a branch."""
    referral = await for_action(ctx, referral_id, ReferralAction.ROUTE)
    if not await repository.is_unit_of_kind(ctx.session, branch_id, UnitKind.WR_BRANCH):
        raise UnknownBranchError()
    now = ctx.now()
    referral.branch_id = branch_id
    referral.assignee_id = None
    referral.escalation_level = 0
    # The state office keeps read-only sight of the case (repository.visible_to).
    referral.routed_by_unit_id = ctx.principal.unit_id
    referral.routed_at = now
    await move(ctx, referral, ReferralAction.ROUTE, now, branch=str(branch_id))
    await notifications.arrived(ctx.session, referral, now=now, actor_id=ctx.principal.user_id)
    return referral


async def record_contact_attempt(
    ctx: ReferralContext, referral_id: uuid.UUID, data: ContactAttemptCreate
) -> Referral:
    referral = await for_action(ctx, referral_id, ReferralAction.RECORD_CONTACT_ATTEMPT)
    now = ctx.now()
    at = _not_in_future(data.attempted_at or now, now, "attempted_at")
    await _record_contact(ctx, referral, data.channel, at, reached=False)
    await move(
        ctx,
        referral,
        ReferralAction.RECORD_CONTACT_ATTEMPT,
        now,
        channel=data.channel,
    )
    return referral


async def record_first_contact(ctx: ReferralContext, referral_id: uuid.UUID, data: FirstContact) -> Referral:
    referral = await for_action(ctx, referral_id, ReferralAction.RECORD_FIRST_CONTACT)
    now = ctx.now()
    at = _not_in_future(data.contacted_at or now, now, "contacted_at")
    if at < referral.submitted_at:
        raise ReferralInvalidError("The first contact cannot precede the referral.")
    referral.first_contact_at = at
    await _record_contact(ctx, referral, data.channel, at, reached=True)
    await move(
        ctx,
        referral,
        ReferralAction.RECORD_FIRST_CONTACT,
        now,
        channel=data.channel,
    )
    return referral


async def _record_contact(
    ctx: ReferralContext, referral: Referral, channel: str, at: dt.datetime, *, reached: bool
) -> None:
    await repository.add_contact_attempt(
        ctx.session,
        ContactAttempt(
            referral_id=referral.id,
            attempted_at=at,
            channel=channel,
            reached=reached,
            recorded_by_id=ctx.principal.user_id,
        ),
    )


async def close(ctx: ReferralContext, referral_id: uuid.UUID, data: Close) -> Referral:
    referral = await for_action(ctx, referral_id, ReferralAction.CLOSE)
    if ReferralStatus(referral.status) not in CLOSE_FROM[data.outcome]:
        raise InvalidTransitionError(
            f"A referral in state '{referral.status}' cannot be closed as '{data.outcome.value}'."
        )
    if data.outcome is CloseOutcome.SUPPORTED and not data.support_given:
        raise SupportRequiredError()
    now = ctx.now()
    referral.close_outcome = data.outcome
    referral.support_given = codes(data.support_given)
    referral.closed_at = now
    await move(ctx, referral, ReferralAction.CLOSE, now, outcome=data.outcome)
    return referral


async def withdraw_consent(ctx: ReferralContext, referral_id: uuid.UUID) -> Referral:
    """Consent withdrawn (Art. 7(3) GDPR): destroy the case key and every ciphertext; keep statistics."""
    referral = await for_action(ctx, referral_id, ReferralAction.WITHDRAW_CONSENT)
    now = ctx.now()
    await ctx.keys.destroy(ctx.session, key_id(referral))
    erased = erase_fields(referral)
    referral.withdrawn_at = now
    await move(ctx, referral, ReferralAction.WITHDRAW_CONSENT, now, erased=sorted(erased))
    return referral


def _not_in_future(at: dt.datetime, now: dt.datetime, name: str) -> dt.datetime:
    if at.tzinfo is None:
        raise ReferralInvalidError(f"{name} must include a time zone.")
    if at > now + dt.timedelta(minutes=5):
        raise ReferralInvalidError(f"{name} lies in the future.")
    return at
