"""Page tests run the app with clocks they can move (referrals, complaints), cheap hashing and generous
rate limits, on the seeded demo organisation."""

from __future__ import annotations

import pytest
from litestar import Litestar

from complaints.config import ComplaintsConfig
from referral_service.app import create_app
from referral_service.identity.config import IdentityConfig
from referral_service.referrals.policy import ReferralPolicy
from referral_service.settings import Settings
from tests.complaints.conftest import MONDAY_MORNING
from tests.complaints.support import complaints_test_config
from tests.identity.support import FakeClock


@pytest.fixture
def referral_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def complaints_clock() -> FakeClock:
    return FakeClock(MONDAY_MORNING)


@pytest.fixture
def complaints_config(complaints_clock: FakeClock) -> ComplaintsConfig:
    return complaints_test_config(complaints_clock)


@pytest.fixture
def identity_app(
    settings: Settings,
    identity_config: IdentityConfig,
    referral_clock: FakeClock,
    complaints_config: ComplaintsConfig,
) -> Litestar:
    return create_app(
        settings,
        identity_config=identity_config,
        domain_overrides={
            "referrals": ReferralPolicy(clock=referral_clock.now),
            "complaints": complaints_config,
        },
    )
