"""When retention runs, and how a domain reads its retention period from the environment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from referral_service.settings import int_variable

# The job runs once a day in every instance (one at a time); it can also run from cron.
RETENTION_INTERVAL_SECONDS = 86_400


def retention_period(environ: Mapping[str, str], name: str, default_days: int) -> dt.timedelta:
    """REFERRAL_<name>: days after a case's closure that its personal data is kept (1 day to 100 years)."""
    return dt.timedelta(days=int_variable(environ, name, default_days, minimum=1, maximum=36_500))
