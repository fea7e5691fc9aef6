"""Retention tests: the Saxon demo organisation with its routing table, controllable referral and
complaint clocks, and no background jobs (each test runs the retention job itself, at a time it picks)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar

from complaints.config import ComplaintsConfig
from referral_service.identity.config import IdentityConfig
from referral_service.referrals.policy import ReferralPolicy
from referral_service.settings import Settings
from tests.complaints.support import complaints_test_config
from tests.conftest import Applications, Kept
from tests.identity.support import FakeClock


@pytest.fixture
def clock(kept: Kept) -> FakeClock:
    return kept.clock("retention")


@pytest.fixture
async def app(
    settings: Settings,
    identity_config: IdentityConfig,
    clock: FakeClock,
    kept: Kept,
    applications: Applications,
) -> AsyncIterator[Litestar]:
    complaints: ComplaintsConfig = kept.get("retention_complaints", lambda: complaints_test_config(clock))
    policy = kept.get("retention_referrals", lambda: ReferralPolicy(clock=clock.now))
    built = applications.get(settings, identity_config, {"referrals": policy, "complaints": complaints})
    yield built
    await applications.release(built)
