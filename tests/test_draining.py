"""Graceful shutdown: on SIGTERM the instance drains (not ready, still serving), then uvicorn stops
accepting and waits for the requests in flight, bounded; a stop asked for exits 0. The processes
themselves are stopped for real in tests/operations/test_instances.py."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator

import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient

from referral_service.cli import server_options
from referral_service.health.draining import DrainingServer, is_draining, start_draining, stop_draining
from referral_service.settings import SettingsError, load_settings


@pytest.fixture
def not_draining() -> Iterator[None]:
    # The flag is the process's own; a test that drains must not leave the worker draining.
    stop_draining()
    yield
    stop_draining()


async def _app(scope: object, receive: object, send: object) -> None:  # never called
    raise AssertionError


def _server(drain_seconds: float) -> DrainingServer:
    return DrainingServer(uvicorn.Config(_app, log_config=None), drain_seconds=drain_seconds)


@pytest.mark.usefixtures("not_draining")
async def test_the_first_sigterm_drains_and_a_second_one_stops() -> None:
    server = _server(drain_seconds=60)
    server.handle_exit(signal.SIGTERM, None)
    assert is_draining()
    assert not await server.on_tick(1)
    server.handle_exit(signal.SIGTERM, None)
    assert await server.on_tick(1)


@pytest.mark.usefixtures("not_draining")
async def test_the_drain_ends_by_itself_and_sigterm_is_not_raised_again() -> None:
    server = _server(drain_seconds=0.01)
    server.handle_exit(signal.SIGTERM, None)
    for _ in range(100):
        if await server.on_tick(1):
            break
        await asyncio.sleep(0.01)  # polls the drain's own (monotonic) clock
    assert server.should_exit
    # uvicorn raises captured signals again after its shutdown; a SIGTERM death would be status 143.
    assert server._captured_signals == []


@pytest.mark.usefixtures("not_draining")
def test_without_a_drain_sigterm_stops_at_once_and_sigint_is_uvicorns() -> None:
    server = _server(drain_seconds=0)
    server.handle_exit(signal.SIGTERM, None)
    assert server.should_exit
    assert not is_draining()
    interrupted = _server(drain_seconds=60)
    interrupted.handle_exit(signal.SIGINT, None)
    assert interrupted.should_exit
    assert not is_draining()


@pytest.mark.usefixtures("not_draining")
async def test_a_draining_instance_is_live_but_not_ready(client: AsyncTestClient[Litestar]) -> None:
    assert (await client.get("/health/ready")).status_code == 200
    start_draining()
    ready = await client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["code"] == "service.not_ready"
    assert (await client.get("/health/live")).status_code == 200


def test_shutdown_settings() -> None:
    defaults = load_settings({})
    assert (defaults.shutdown_grace_seconds, defaults.shutdown_drain_seconds) == (20, 0)
    assert server_options(defaults)["timeout_graceful_shutdown"] == 20
    configured = load_settings(
        {"REFERRAL_SHUTDOWN_GRACE_SECONDS": "5", "REFERRAL_SHUTDOWN_DRAIN_SECONDS": "3"}
    )
    assert (configured.shutdown_grace_seconds, configured.shutdown_drain_seconds) == (5, 3)
    for name, bad in (("SHUTDOWN_GRACE_SECONDS", "0"), ("SHUTDOWN_DRAIN_SECONDS", "-1")):
        with pytest.raises(SettingsError, match=f"REFERRAL_{name}"):
            load_settings({f"REFERRAL_{name}": bad})
