"""Referral tests run against the seeded Saxon demo organisation with its postcode routing table."""

from __future__ import annotations

import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.app import create_app
from referral_service.db import create_session_factory
from referral_service.identity.config import IdentityConfig
from referral_service.referrals.policy import ReferralPolicy
from referral_service.referrals.routing import seed_demo_routes
from referral_service.settings import Settings
from tests.identity.support import DemoDirectory, FakeClock


@pytest.fixture
async def routed(engine: AsyncEngine, demo_directory: DemoDirectory) -> DemoDirectory:
    async with create_session_factory(engine)() as session, session.begin():
        assert await seed_demo_routes(session) > 0
    return demo_directory


@pytest.fixture
def referral_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def referral_policy(referral_clock: FakeClock) -> ReferralPolicy:
    return ReferralPolicy(clock=referral_clock.now)


@pytest.fixture
def app(settings: Settings, identity_config: IdentityConfig, referral_policy: ReferralPolicy) -> Litestar:
    return create_app(settings, identity_config=identity_config, referral_policy=referral_policy)
