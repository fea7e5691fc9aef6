"""Referral tests run against the seeded Saxon demo organisation with its postcode routing table."""

from __future__ import annotations

import pytest
from litestar import Litestar

from referral_service.app import create_app
from referral_service.identity.config import IdentityConfig
from referral_service.referrals.policy import ReferralPolicy
from referral_service.settings import Settings
from tests.identity.support import FakeClock


@pytest.fixture
def referral_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def referral_policy(referral_clock: FakeClock) -> ReferralPolicy:
    return ReferralPolicy(clock=referral_clock.now)


@pytest.fixture
def app(settings: Settings, identity_config: IdentityConfig, referral_policy: ReferralPolicy) -> Litestar:
    return create_app(
        settings, identity_config=identity_config, domain_overrides={"referrals": referral_policy}
    )
