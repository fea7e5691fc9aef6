"""Referral tests run against the seeded Saxon demo organisation with its postcode routing table."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar

from referral_service.identity.config import IdentityConfig
from referral_service.referrals.policy import ReferralPolicy
from referral_service.settings import Settings
from tests.conftest import Applications, Kept
from tests.identity.support import FakeClock


@pytest.fixture
def referral_clock(kept: Kept) -> FakeClock:
    return kept.clock("referrals")


@pytest.fixture
def referral_policy(referral_clock: FakeClock, kept: Kept) -> ReferralPolicy:
    return kept.get("referral_policy", lambda: ReferralPolicy(clock=referral_clock.now))


@pytest.fixture
async def app(
    settings: Settings,
    identity_config: IdentityConfig,
    referral_policy: ReferralPolicy,
    applications: Applications,
) -> AsyncIterator[Litestar]:
    built = applications.get(settings, identity_config, {"referrals": referral_policy})
    yield built
    await applications.release(built)
