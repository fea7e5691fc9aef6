"""Background jobs keep running after failures and stop between runs, not inside one."""

from __future__ import annotations

import asyncio

from referral_service.jobs import JobRunner, PeriodicJob


async def test_a_failing_job_is_retried_and_does_not_stop_the_others() -> None:
    calls = {"failing": 0, "healthy": 0}

    async def failing() -> None:
        calls["failing"] += 1
        raise RuntimeError("boom")

    async def healthy() -> None:
        calls["healthy"] += 1

    runner = JobRunner([PeriodicJob("failing", 0.01, failing), PeriodicJob("healthy", 0.01, healthy)])
    await runner.start()
    await asyncio.sleep(0.1)
    await runner.stop()
    assert calls["failing"] >= 3
    assert calls["healthy"] >= 3


async def test_stop_waits_for_a_running_job_to_finish() -> None:
    finished = []

    async def slow() -> None:
        await asyncio.sleep(0.2)
        finished.append(True)

    runner = JobRunner([PeriodicJob("slow", 60, slow)])
    await runner.start()
    await asyncio.sleep(0.05)  # the job is inside its work now
    await runner.stop()
    assert finished == [True]


async def test_stop_cancels_a_job_that_overstays_the_grace() -> None:
    async def stuck() -> None:
        await asyncio.sleep(60)

    runner = JobRunner([PeriodicJob("stuck", 60, stuck)], grace_seconds=0.05)
    await runner.start()
    await asyncio.sleep(0.01)
    await asyncio.wait_for(runner.stop(), timeout=2)
