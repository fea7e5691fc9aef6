"""Complaint tests run against the seeded Saxon demo organisation, with a complaints clock the test moves
by hand (Monday 23 November 2026, 09:00 in Dresden) and generous rate limits."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar

from complaints.config import ComplaintsConfig
from referral_service.identity.config import IdentityConfig
from referral_service.settings import Settings
from tests.complaints.support import complaints_test_config
from tests.conftest import Applications, Kept
from tests.identity.support import FakeClock

MONDAY_MORNING = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def complaints_clock(kept: Kept) -> FakeClock:
    return kept.clock("complaints", MONDAY_MORNING)


@pytest.fixture
def complaints_config(complaints_clock: FakeClock, kept: Kept) -> ComplaintsConfig:
    return kept.get("complaints_config", lambda: complaints_test_config(complaints_clock))


@pytest.fixture
async def app(
    settings: Settings,
    identity_config: IdentityConfig,
    complaints_config: ComplaintsConfig,
    applications: Applications,
) -> AsyncIterator[Litestar]:
    built = applications.get(settings, identity_config, {"complaints": complaints_config})
    yield built
    await applications.release(built)
