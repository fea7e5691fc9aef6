"""The public rate limits with several service instances: counted together in Redis when
REFERRAL_REDIS_URL is set, per process without it (the embedded default needs no Redis).

Needs Redis at REFERRAL_TEST_REDIS_URL (default redis://127.0.0.1:6379/0); skipped without it unless
REFERRAL_TEST_REQUIRE_REDIS=1 (CI), which turns a missing Redis into a failure."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from complaints.config import ComplaintsConfig
from referral_service.app import create_app
from referral_service.identity.config import IdentityConfig
from referral_service.settings import Settings, SettingsError, load_settings
from tests.complaints.support import PUBLIC, anonymous_payload, problem, submit
from tests.components import REDIS

REDIS_URL = os.environ.get("REFERRAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis_namespace() -> AsyncIterator[str]:
    """A namespace of this test's own in the shared Redis, removed afterwards."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (redis.ConnectionError, OSError) as exc:
        await client.aclose()
        REDIS.skip_or_fail(f"Redis unreachable at {REDIS_URL} ({type(exc).__name__})")
    namespace = f"referral-test-{uuid.uuid4().hex[:12]}"
    try:
        yield namespace
    finally:
        keys = [key async for key in client.scan_iter(match=f"{namespace}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def _instance(settings: Settings, identity_config: IdentityConfig, config: ComplaintsConfig) -> Litestar:
    limited = dataclasses.replace(config, intake_rate_limit=("minute", 2))
    return create_app(settings, identity_config=identity_config, domain_overrides={"complaints": limited})


async def test_two_instances_share_one_budget_through_redis(
    settings: Settings,
    identity_config: IdentityConfig,
    complaints_config: ComplaintsConfig,
    redis_namespace: str,
) -> None:
    shared = dataclasses.replace(settings, redis_url=REDIS_URL, redis_namespace=redis_namespace)
    first = _instance(shared, identity_config, complaints_config)
    second = _instance(shared, identity_config, complaints_config)
    async with AsyncTestClient(app=first) as one, AsyncTestClient(app=second) as other:
        await submit(one)
        await submit(one)
        # The same client address at the other instance: the budget is already spent.
        refused = await other.post(PUBLIC, json=anonymous_payload())
        assert problem(refused) == (429, "request.rate_limited")


async def test_without_redis_each_instance_counts_on_its_own(
    settings: Settings, identity_config: IdentityConfig, complaints_config: ComplaintsConfig
) -> None:
    assert settings.redis_url is None
    first = _instance(settings, identity_config, complaints_config)
    second = _instance(settings, identity_config, complaints_config)
    async with AsyncTestClient(app=first) as one, AsyncTestClient(app=second) as other:
        await submit(one)
        await submit(one)
        assert problem(await one.post(PUBLIC, json=anonymous_payload()))[0] == 429
        await submit(other)  # the documented limit of the in-memory default


def test_redis_url_is_checked_at_start() -> None:
    assert load_settings({"REFERRAL_REDIS_URL": "redis://cache:6379/2"}).redis_url == "redis://cache:6379/2"
    with pytest.raises(SettingsError, match="REFERRAL_REDIS_URL"):
        load_settings({"REFERRAL_REDIS_URL": "http://cache"})
