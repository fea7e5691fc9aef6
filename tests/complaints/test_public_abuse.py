"""The public complaint API against abuse: what counts against the submission budget, what a refusal
tells the client, whose address the budget belongs to, and which bodies count as a submission at all."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from complaints.config import ComplaintsConfig
from referral_service.cli import server_options
from referral_service.identity.config import IdentityConfig
from referral_service.settings import Settings
from tests.complaints.support import PUBLIC, anonymous_payload, count_rows, problem, submit
from tests.conftest import Applications, Kept
from tests.media_types import NOT_DECLARED_JSON


@pytest.fixture
async def limited_app(
    settings: Settings,
    identity_config: IdentityConfig,
    complaints_config: ComplaintsConfig,
    applications: Applications,
    kept: Kept,
) -> AsyncIterator[Litestar]:
    """Two submissions per hour and address."""
    limited = kept.get(
        "complaints_config_two_per_hour",
        lambda: dataclasses.replace(complaints_config, intake_rate_limit=("hour", 2)),
    )
    built = applications.get(settings, identity_config, {"complaints": limited})
    yield built
    await applications.release(built)


async def test_reading_the_categories_leaves_the_submission_budget_alone(limited_app: Litestar) -> None:
    async with AsyncTestClient(app=limited_app) as client:
        for _ in range(5):
            assert (await client.get(f"{PUBLIC}/categories")).status_code == 200
        await submit(client)
        await submit(client)
        assert problem(await client.post(PUBLIC, json=anonymous_payload())) == (429, "request.rate_limited")


async def test_a_refused_submission_says_when_to_retry_and_names_the_request(
    limited_app: Litestar, capsys: pytest.CaptureFixture[str]
) -> None:
    async with AsyncTestClient(app=limited_app) as client:
        await submit(client)
        await submit(client)
        refused = await client.post(PUBLIC, json=anonymous_payload())
    assert problem(refused) == (429, "request.rate_limited")
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    request_id = refused.headers["x-request-id"]
    assert refused.json()["request_id"] == request_id
    completed = [
        line
        for line in capsys.readouterr().err.splitlines()
        if "request.completed" in line and request_id in line
    ]
    assert len(completed) == 1
    assert "status=429" in completed[0]


async def _post_through_serve(
    app: Litestar, settings: Settings, headers: dict[str, str] | None = None
) -> int:
    """A submission as `serve` runs the app, from a proxy on the same host (127.0.0.1)."""
    config = uvicorn.Config(app, **server_options(settings))
    config.load()
    transport = httpx.ASGITransport(app=config.loaded_app, client=("127.0.0.1", 50123))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        response = await client.post(PUBLIC, json=anonymous_payload(), headers=headers or {})
    return response.status_code


async def test_a_forged_x_forwarded_for_does_not_open_a_new_budget(
    limited_app: Litestar, settings: Settings
) -> None:
    assert settings.trusted_proxies == ()
    forged = {"X-Forwarded-For": "203.0.113.9"}
    assert await _post_through_serve(limited_app, settings) == 201
    assert await _post_through_serve(limited_app, settings) == 201
    assert await _post_through_serve(limited_app, settings, forged) == 429
    assert await _post_through_serve(limited_app, settings, {"X-Forwarded-For": "198.51.100.4"}) == 429
    # A configured proxy is believed: its client has a budget of its own, the proxy's own is spent.
    behind_proxy = dataclasses.replace(settings, trusted_proxies=("127.0.0.1/32",))
    assert await _post_through_serve(limited_app, behind_proxy, forged) == 201
    assert await _post_through_serve(limited_app, behind_proxy) == 429


@NOT_DECLARED_JSON
async def test_a_body_not_declared_json_submits_nothing(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, headers: dict[str, str]
) -> None:
    # What a cross-site HTML form (the first three) or a careless client would send.
    response = await client.post(PUBLIC, content=json.dumps(anonymous_payload()).encode(), headers=headers)
    assert problem(response) == (415, "request.unsupported_media_type")
    assert (await count_rows(engine, "complaints"))["complaints"] == 0


async def test_json_nested_1000_levels_deep_is_a_malformed_request(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post(
        PUBLIC, content=b"[" * 1000 + b"]" * 1000, headers={"content-type": "application/json"}
    )
    assert problem(response) == (400, "request.malformed")
