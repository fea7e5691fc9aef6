"""Complaint tests run against the seeded Saxon demo organisation, with a complaints clock the test moves
by hand (Monday 23 November 2026, 09:00 in Dresden), cheap Argon2 and generous rate limits."""

from __future__ import annotations

import datetime as dt

import pytest
from litestar import Litestar

from complaints.config import ComplaintsConfig
from referral_service.app import create_app
from referral_service.identity.config import IdentityConfig
from referral_service.settings import Settings
from tests.complaints.support import complaints_test_config
from tests.identity.support import FakeClock

MONDAY_MORNING = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def complaints_clock() -> FakeClock:
    return FakeClock(MONDAY_MORNING)


@pytest.fixture
def complaints_config(complaints_clock: FakeClock) -> ComplaintsConfig:
    return complaints_test_config(complaints_clock)


@pytest.fixture
def app(settings: Settings, identity_config: IdentityConfig, complaints_config: ComplaintsConfig) -> Litestar:
    return create_app(
        settings, identity_config=identity_config, domain_overrides={"complaints": complaints_config}
    )
