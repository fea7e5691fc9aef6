"""Retention periods, from the settings: how long after closure personal data is kept."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from referral_service.settings import Settings

# The job runs once a day in every instance (one at a time); it can also run from cron.
RETENTION_INTERVAL_SECONDS = 86_400


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    referral_period: dt.timedelta
    complaint_period: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        return cls(
            referral_period=dt.timedelta(days=settings.retention_referral_days),
            complaint_period=dt.timedelta(days=settings.retention_complaint_days),
        )
