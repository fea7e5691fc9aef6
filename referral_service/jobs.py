"""Background work that every instance runs: periodic jobs in the application's event loop.

Each job takes its own leadership inside its transaction (a PostgreSQL advisory lock, or SQLite's
write lock), so with several instances exactly one does the work at a time and any instance can take
over when another stops. The same functions run from the CLI for cron-driven deployments.

Everything a job logs names the job and this instance (`job`, `instance`), e.g. `job.led` for each
leadership it took (`referral_service.leadership`), so an operator can tell which instance did the work.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

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
    # How long shutdown waits for a running job to finish before cancelling it.
    grace_seconds: float = 10.0
    # This process's name in the jobs' logs (`Settings.instance_id`).
    instance: str = ""
    # No job waits longer than this between runs (`Settings.job_interval_max_seconds`); None: its own.
    max_interval_seconds: float | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        self._stopping.clear()
        self._tasks = [asyncio.create_task(self._loop(job), name=f"job:{job.name}") for job in self.jobs]

    async def stop(self) -> None:
        """Let running jobs finish their transaction, then stop; cancel only what overstays the grace.

        Cancelling a job inside its transaction could leave a pooled connection mid-transaction (on
        SQLite, holding the database write lock) while the engine is being disposed.
        """
        self._stopping.set()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=self.grace_seconds)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks = []

    def interval(self, job: PeriodicJob) -> float:
        if self.max_interval_seconds is None:
            return job.interval_seconds
        return min(job.interval_seconds, self.max_interval_seconds)

    async def _loop(self, job: PeriodicJob) -> None:
        # The task runs in a copy of the context it was created in: these keys stay with this job.
        structlog.contextvars.bind_contextvars(job=job.name, instance=self.instance)
        interval = self.interval(job)
        while not self._stopping.is_set():
            try:
                await job.run()
            except Exception as exc:
                # A failing job must not stop the others or the service; it is retried next interval.
                log.error("job.failed", job=job.name, **exception_fields(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), interval)
