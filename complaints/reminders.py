"""The deadline job: a reminder to whoever must act when the office's answer deadline or a statement
request's deadline falls within `ComplaintsConfig.remind_working_days` working days (today included).

Run by every instance's background loop (one at a time, by leadership) and by
`referral-service complaints remind` for cron-driven deployments. Every run finds the deadlines in the
window again; each reminder's dedupe key writes it once per deadline and recipient.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from complaints import notifications, repository
from complaints.config import ComplaintsConfig
from complaints.deadlines import remind_until
from referral_service.db import create_session_factory
from referral_service.leadership import take_leadership

JOB = "complaint-deadlines"
# Deadlines are days: an hourly run reminds within the hour a deadline enters the window.
INTERVAL_SECONDS = 3600.0


async def remind_deadlines(engine: AsyncEngine, config: ComplaintsConfig) -> int:
    """Write the reminders due now, in one transaction; returns how many deadlines are in the window
    (each reminded at most once, however often this runs)."""
    now = config.now()
    today = config.local_date(now)
    last = remind_until(config, today)
    async with create_session_factory(engine)() as session, session.begin():
        if not await take_leadership(session, JOB):
            return 0
        complaints = await repository.answer_deadlines_between(session, today, last)
        for complaint in complaints:
            await notifications.answer_deadline_soon(session, complaint, now=now)
        requests = await repository.statement_deadlines_between(session, today, last)
        for request, reference in requests:
            await notifications.statement_deadline_soon(session, request, reference, now=now)
    return len(complaints) + len(requests)
