"""Sign-in through a real OpenID provider (tests/oidc: `oidc-provider` on node, one process per worker).

The app under test knows the two providers of tests/oidc/relying_party.py (`oidc_config`, registered
for the whole suite in tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from referral_service.identity.config import IdentityConfig
from referral_service.identity.oidc.config import OidcConfig
from referral_service.settings import Settings
from tests.conftest import Applications


@pytest.fixture
async def oidc_app(
    settings: Settings, identity_config: IdentityConfig, oidc_config: OidcConfig, applications: Applications
) -> AsyncIterator[Litestar]:
    built = applications.get(settings, identity_config, oidc_config=oidc_config)
    yield built
    await applications.release(built)


@pytest.fixture
async def oidc_client(oidc_app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=oidc_app, base_url="https://testserver.local") as client:
        yield client
