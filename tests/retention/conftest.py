"""Retention tests: the Saxon demo organisation with its routing table, controllable referral and
complaint clocks, and no background jobs (each test runs the retention job itself, at a time it picks)."""

from __future__ import annotations

import pytest
from litestar import Litestar

from complaints.config import ComplaintsConfig
from referral_service.app import create_app
from referral_service.identity.config import IdentityConfig
from referral_service.referrals.policy import ReferralPolicy
from referral_service.settings import Settings
from tests.complaints.support import complaints_test_config
from tests.identity.support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(settings: Settings, identity_config: IdentityConfig, clock: FakeClock) -> Litestar:
    complaints: ComplaintsConfig = complaints_test_config(clock)
    return create_app(
        settings,
        identity_config=identity_config,
        domain_overrides={"referrals": ReferralPolicy(clock=clock.now), "complaints": complaints},
    )
