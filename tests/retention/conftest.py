"""Retention tests: the Saxon demo organisation with its routing table, controllable referral and
complaint clocks, and no background jobs (each test runs the retention job itself, at a time it picks)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar

from referral_service.identity.config import IdentityConfig
from referral_service.settings import Settings
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
    built = applications.get(settings, identity_config, kept.both_domains("retention", clock))
    yield built
    await applications.release(built)
