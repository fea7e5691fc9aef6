"""The deadline job: a reminder to whoever must act when a deadline approaches; when it has passed,
escalation: not accepted in time -> the branch lead; no first contact in time -> the state office.
Run by every instance's background loop (one at a time, by advisory lock) and by
`referral-service referrals escalate` for cron-driven deployments."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.recorder import SYSTEM
from referral_service.db import create_session_factory
from referral_service.leadership import take_leadership
from referral_service.referrals import notifications, repository
from referral_service.referrals.audit_actions import ReferralAuditAction
from referral_service.referrals.domain import EscalationLevel
from referral_service.referrals.models import Referral
from referral_service.referrals.policy import (
    ReferralPolicy,
    approaching_deadlines,
    deadlines,
    escalation_due,
)
from referral_service.referrals.service.common import audit_referral

_REASONS = {
    EscalationLevel.BRANCH_LEAD: "not_accepted_in_time",
    EscalationLevel.STATE_OFFICE: "no_first_contact_in_time",
}


async def escalate_overdue(engine: AsyncEngine, policy: ReferralPolicy) -> int:
    """Remind of approaching deadlines, raise the escalation level of every overdue referral and tell
    each step's recipients, in one transaction; returns how many referrals escalated."""
    now = policy.clock()
    changed = 0
    async with create_session_factory(engine)() as session, session.begin():
        if not await take_leadership(session, "referral-deadlines"):
            return 0
        await _remind(session, policy, now)
        for referral in await repository.due_for_escalation(
            session, now=now, accept_within=policy.accept_within, contact_within=policy.contact_within
        ):
            level = escalation_due(referral, policy, now)
            if level <= referral.escalation_level:
                continue
            steps = _steps(referral, level, policy, now)
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
            for step, passed in steps:
                await notifications.escalated(session, referral, step, passed, now=now)
            changed += 1
    return changed


def _steps(
    referral: Referral, level: int, policy: ReferralPolicy, now: dt.datetime
) -> list[tuple[int, dt.datetime]]:
    """The escalation steps the referral takes now, each with the deadline that passed: both, when
    the job last ran before the acceptance deadline and now runs after the contact deadline."""
    due = deadlines(referral, policy, now)
    steps: list[tuple[int, dt.datetime]] = []
    if due.accept_overdue and referral.escalation_level < EscalationLevel.BRANCH_LEAD:
        steps.append((EscalationLevel.BRANCH_LEAD, due.accept_by))
    if level >= EscalationLevel.STATE_OFFICE > referral.escalation_level:
        steps.append((EscalationLevel.STATE_OFFICE, due.first_contact_by))
    return steps


async def _remind(session: AsyncSession, policy: ReferralPolicy, now: dt.datetime) -> None:
    # Every run finds the referrals in the window again; the reminder's dedupe key writes it once.
    for referral in await repository.due_for_reminder(
        session,
        now=now,
        accept_within=policy.accept_within,
        contact_within=policy.contact_within,
        remind_within=policy.remind_within,
    ):
        for deadline, due in approaching_deadlines(referral, policy, now):
            await notifications.deadline_soon(session, referral, deadline, due, now=now)
