"""Background jobs keep running after failures, stop between runs, not inside one, and run in one
instance at a time."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.db import create_session_factory
from referral_service.jobs import JobRunner, PeriodicJob
from referral_service.leadership import take_leadership


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
