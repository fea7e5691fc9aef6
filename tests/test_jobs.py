"""Background jobs keep running after failures, stop between runs, not inside one, and run in one
instance at a time."""

from __future__ import annotations

import asyncio
import json
import os
import socket

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.db import create_session_factory
from referral_service.jobs import JobRunner, PeriodicJob
from referral_service.leadership import take_leadership
from referral_service.logging import configure_logging
from referral_service.settings import SettingsError, load_settings


async def test_a_failing_job_is_retried_and_does_not_stop_the_others() -> None:
    calls = {"failing": 0, "healthy": 0}
    both_ran_three_times = asyncio.Event()

    def count(name: str) -> None:
        calls[name] += 1
        if min(calls.values()) >= 3:
            both_ran_three_times.set()

    async def failing() -> None:
        count("failing")
        raise RuntimeError("boom")

    async def healthy() -> None:
        count("healthy")

    runner = JobRunner([PeriodicJob("failing", 0, failing), PeriodicJob("healthy", 0, healthy)])
    await runner.start()
    await asyncio.wait_for(both_ran_three_times.wait(), timeout=10)
    await runner.stop()
    assert calls["failing"] >= 3
    assert calls["healthy"] >= 3


async def test_stop_waits_for_a_running_job_to_finish() -> None:
    finished = []
    inside, may_finish = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        inside.set()
        await may_finish.wait()
        finished.append(True)

    runner = JobRunner([PeriodicJob("slow", 60, slow)])
    await runner.start()
    await inside.wait()
    stopping = asyncio.create_task(runner.stop())
    for _ in range(10):
        await asyncio.sleep(0)  # let stop() run as far as it can
    assert not stopping.done()
    may_finish.set()
    await asyncio.wait_for(stopping, timeout=10)
    assert finished == [True]


async def test_stop_cancels_a_job_that_overstays_the_grace() -> None:
    inside = asyncio.Event()
    cancelled = []

    async def stuck() -> None:
        inside.set()
        try:
            await asyncio.Event().wait()  # never set
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    runner = JobRunner([PeriodicJob("stuck", 60, stuck)], grace_seconds=0.01)
    await runner.start()
    await inside.wait()
    await asyncio.wait_for(runner.stop(), timeout=2)
    assert cancelled == [True]


async def test_one_instance_leads_a_job_until_its_transaction_ends(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writing transaction in at a time; there is nothing more to take")
    factory = create_session_factory(engine)
    async with factory() as leader, factory() as other:
        async with leader.begin():
            assert await take_leadership(leader, "job")
            async with other.begin():
                assert not await take_leadership(other, "job")
                assert await take_leadership(other, "another job")
        async with other.begin():
            assert await take_leadership(other, "job")


async def test_no_job_waits_longer_than_the_configured_maximum() -> None:
    runs = 0
    three_runs = asyncio.Event()

    async def daily() -> None:
        nonlocal runs
        runs += 1
        if runs >= 3:
            three_runs.set()

    job = PeriodicJob("daily", 86_400, daily)
    assert JobRunner([job]).interval(job) == 86_400
    runner = JobRunner([job], max_interval_seconds=0.01)
    assert runner.interval(PeriodicJob("often", 0.001, daily)) == 0.001
    await runner.start()
    await asyncio.wait_for(three_runs.wait(), timeout=10)
    await runner.stop()


def test_instance_and_job_interval_settings() -> None:
    defaults = load_settings({})
    assert defaults.instance_id == f"{socket.gethostname()}-{os.getpid()}"
    assert defaults.job_interval_max_seconds is None
    configured = load_settings({"REFERRAL_INSTANCE_ID": "node-2", "REFERRAL_JOB_INTERVAL_MAX_SECONDS": "0.5"})
    assert (configured.instance_id, configured.job_interval_max_seconds) == ("node-2", 0.5)
    for bad in ("0", "-1", "often", "86401"):
        with pytest.raises(SettingsError, match="REFERRAL_JOB_INTERVAL_MAX_SECONDS"):
            load_settings({"REFERRAL_JOB_INTERVAL_MAX_SECONDS": bad})


async def test_each_leadership_is_logged_with_job_instance_and_interval(
    engine: AsyncEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    """The observable that shows across instances' logs who led what when (tests/operations)."""
    configure_logging(load_settings({"REFERRAL_LOG_FORMAT": "json", "REFERRAL_LOG_LEVEL": "DEBUG"}))
    factory = create_session_factory(engine)
    done = asyncio.Event()
    refused = []

    async def lead() -> None:
        async with factory() as session, session.begin():
            assert await take_leadership(session, "the-lock")
            if engine.dialect.name == "postgresql":
                async with factory() as other, other.begin():
                    refused.append(await take_leadership(other, "the-lock"))
        done.set()

    runner = JobRunner([PeriodicJob("the-job", 60, lead)], instance="node-1")
    try:
        await runner.start()
        await asyncio.wait_for(done.wait(), timeout=10)
    finally:
        await runner.stop()
        configure_logging(load_settings({}))
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    led = [line for line in lines if line["event"] == "job.led"]
    assert len(led) == 1, lines
    assert {key: led[0][key] for key in ("job", "instance", "lock")} == {
        "job": "the-job",
        "instance": "node-1",
        "lock": "the-lock",
    }
    assert led[0]["led_from"] <= led[0]["led_until"]
    if engine.dialect.name == "postgresql":
        assert refused == [False]
        assert [line["lock"] for line in lines if line["event"] == "job.not_led"] == ["the-lock"]
