"""Deadline escalation: not accepted in time -> the branch lead; no first contact in time ->
the state office. Run by every instance's background loop (one at a time, by advisory lock) and by
`referral-service referrals escalate` for cron-driven deployments."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.audit.recorder import SYSTEM
from referral_service.db import create_session_factory
from referral_service.leadership import take_leadership
from referral_service.referrals import repository
from referral_service.referrals.audit_actions import ReferralAuditAction
from referral_service.referrals.domain import EscalationLevel
from referral_service.referrals.policy import ReferralPolicy, escalation_due
from referral_service.referrals.service.common import audit_referral

_REASONS = {
    EscalationLevel.BRANCH_LEAD: "not_accepted_in_time",
    EscalationLevel.STATE_OFFICE: "no_first_contact_in_time",
}


async def escalate_overdue(engine: AsyncEngine, policy: ReferralPolicy) -> int:
    """Raise the escalation level of every overdue referral; returns how many changed."""
    now = policy.clock()
    changed = 0
    async with create_session_factory(engine)() as session, session.begin():
        if not await take_leadership(session, "referral-deadlines"):
            return 0
        for referral in await repository.due_for_escalation(
            session, now=now, accept_within=policy.accept_within, contact_within=policy.contact_within
        ):
            level = escalation_due(referral, policy, now)
            if level <= referral.escalation_level:
                continue
            referral.escalation_level = level
            referral.escalated_at = now
            await audit_referral(
                session,
                SYSTEM,
                ReferralAuditAction.REFERRAL_ESCALATE,
                referral,
                {},
                level=level,
                reason=_REASONS[level],
            )
            changed += 1
    return changed
