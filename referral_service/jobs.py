"""Background work that every instance runs: periodic jobs in the application's event loop.

Each job takes its own leadership inside its transaction (a PostgreSQL advisory lock, or SQLite's
write lock), so with several instances exactly one does the work at a time and any instance can take
over when another stops. The same functions run from the CLI for cron-driven deployments.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from referral_service.logging import exception_fields, get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    name: str
    interval_seconds: float
    run: Callable[[], Awaitable[object]]


@dataclass
class JobRunner:
    jobs: list[PeriodicJob]
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(job), name=f"job:{job.name}") for job in self.jobs]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _loop(self, job: PeriodicJob) -> None:
        while True:
            try:
                await job.run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # A failing job must not stop the others or the service; it is retried next interval.
                log.error("job.failed", job=job.name, **exception_fields(exc))
            await asyncio.sleep(job.interval_seconds)
