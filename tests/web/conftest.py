"""Page tests run the app with clocks they can move (referrals, complaints), cheap hashing and generous
rate limits, on the seeded demo organisation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar

from complaints.config import ComplaintsConfig
from referral_service.identity.config import IdentityConfig
from referral_service.referrals.policy import ReferralPolicy
from referral_service.settings import Settings
from tests.complaints.conftest import MONDAY_MORNING
from tests.complaints.support import complaints_test_config
from tests.conftest import Applications, Kept
from tests.identity.support import FakeClock


@pytest.fixture
def referral_clock(kept: Kept) -> FakeClock:
    return kept.clock("referrals")


@pytest.fixture
def complaints_clock(kept: Kept) -> FakeClock:
    return kept.clock("complaints", MONDAY_MORNING)


@pytest.fixture
def complaints_config(complaints_clock: FakeClock, kept: Kept) -> ComplaintsConfig:
    return kept.get("complaints_config", lambda: complaints_test_config(complaints_clock))


@pytest.fixture
async def identity_app(
    settings: Settings,
    identity_config: IdentityConfig,
    referral_clock: FakeClock,
    complaints_config: ComplaintsConfig,
    kept: Kept,
    applications: Applications,
) -> AsyncIterator[Litestar]:
    policy = kept.get("referral_policy", lambda: ReferralPolicy(clock=referral_clock.now))
    overrides = {"referrals": policy, "complaints": complaints_config}
    built = applications.get(settings, identity_config, overrides)
    yield built
    await applications.release(built)
