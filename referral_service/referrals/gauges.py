"""The referral domain's gauges for the metrics port (`Domain.gauges`), by WEISSER RING branch."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.metrics.gauges import UNIT, Gauge, Values, by_unit
from referral_service.referrals.policy import ReferralPolicy
from referral_service.referrals.repository import DeadlineWindows, overdue_by_branch, waiting_by_branch


async def _waiting(session: AsyncSession) -> Values:
    return by_unit(await waiting_by_branch(session))


def referral_gauges(policy: ReferralPolicy) -> Sequence[Gauge]:
    async def overdue(session: AsyncSession) -> Values:
        windows = DeadlineWindows(
            now=policy.clock(),
            accept_within=policy.accept_within,
            contact_within=policy.contact_within,
            due_soon_within=policy.due_soon_within,
        )
        return by_unit(await overdue_by_branch(session, windows))

    return (
        Gauge(
            "referrals_waiting",
            "Referrals submitted and not yet accepted, by branch (empty unit_id: not yet routed).",
            _waiting,
            labels=(UNIT,),
        ),
        Gauge(
            "referrals_overdue",
            "Referrals past the acceptance or first-contact deadline, by branch.",
            overdue,
            labels=(UNIT,),
        ),
    )
