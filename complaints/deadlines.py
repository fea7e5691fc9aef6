"""The office's answer deadline in working days, paused while statements are outstanding.

The clock starts the day after receipt (the day itself does not count) and counts working days of the
configured state (`complaints.working_days`). Each statement request pauses it from the day after the
request until the day the statement arrived; overlapping requests pause a day once. While any request is
outstanding there is no deadline (None), unless it had already passed before the pause began.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from complaints.config import ComplaintsConfig
from complaints.domain import DEADLINE_STATES, ComplaintStatus
from complaints.working_days import Pause, deadline_with_pauses


def answer_deadline(
    config: ComplaintsConfig, received_on: dt.date, pauses: Iterable[Pause]
) -> dt.date | None:
    return deadline_with_pauses(
        config.calendar, received_on, config.answer_deadline_working_days, list(pauses)
    )


def statement_deadline(config: ComplaintsConfig, requested_on: dt.date) -> dt.date:
    return config.calendar.add_working_days(requested_on, config.statement_deadline_working_days)


def is_overdue(status: str, deadline: dt.date | None, today: dt.date) -> bool:
    """Overdue: the deadline has passed and the office has not yet decided (or closed) the complaint."""
    return deadline is not None and ComplaintStatus(status) in DEADLINE_STATES and today > deadline


def due_soon_until(config: ComplaintsConfig, today: dt.date) -> dt.date:
    """The last day a deadline may fall on to count as "due soon" (today included)."""
    return config.calendar.add_working_days(today, config.due_soon_working_days)


def remind_until(config: ComplaintsConfig, today: dt.date) -> dt.date:
    """The last day a deadline may fall on for whoever must act to be reminded of it (today included)."""
    return config.calendar.add_working_days(today, config.remind_working_days)
