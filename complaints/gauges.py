"""The complaint domain's gauges for the metrics port (`Domain.gauges`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.config import ComplaintsConfig
from complaints.repository import count_past_deadline, overdue_statements_by_unit
from referral_service.metrics.gauges import UNIT, Gauge, Values, by_unit


def complaint_gauges(config: ComplaintsConfig) -> Sequence[Gauge]:
    async def past_deadline(session: AsyncSession) -> Values:
        return {(): float(await count_past_deadline(session, config.today()))}

    async def statements_overdue(session: AsyncSession) -> Values:
        return by_unit(await overdue_statements_by_unit(session, config.today()))

    return (
        Gauge(
            "complaints_past_deadline",
            "Complaints past the office's answer deadline and not yet decided.",
            past_deadline,
        ),
        Gauge(
            "complaint_statements_overdue",
            "Statement requests past their deadline and not yet answered, by the police unit asked.",
            statements_overdue,
            labels=(UNIT,),
        ),
    )
