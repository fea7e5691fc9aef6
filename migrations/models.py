"""Every table the migrations manage. Importing the model modules registers them on the metadata."""

from __future__ import annotations

import complaints.models  # noqa: F401
import referral_service.audit.models
import referral_service.identity.models
import referral_service.identity.oidc.models
import referral_service.keys.models
import referral_service.notifications.models
import referral_service.referrals.models
import referral_service.referrals.reports  # the statistics index on referrals
import referral_service.reporting.models  # noqa: F401
from referral_service.db import metadata

target_metadata = metadata
