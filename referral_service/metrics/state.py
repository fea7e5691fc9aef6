"""One application's metrics state: the latest snapshot of the gauges and what its jobs last did.

The refresh job takes every gauge in one read-only transaction and then replaces the snapshot as a
whole; a scrape (in the metrics server's thread) only reads the reference it finds, so it never sees
half a refresh and never waits for the database. When the database is away the job fails, the old
snapshot stays, and its timestamp tells how old it is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.db import create_session_factory
from referral_service.jobs import PeriodicJob
from referral_service.metrics.gauges import Gauge, Values

REFRESH_JOB = "metrics-refresh"
REFRESH_INTERVAL_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    taken_at: float
    values: tuple[tuple[Gauge, Values], ...]


@dataclass(frozen=True, slots=True)
class JobRecord:
    interval_seconds: float
    last_success: float | None = None
    failures: int = 0


@dataclass
class MetricsState:
    gauges: Sequence[Gauge]
    snapshot: Snapshot | None = None
    jobs: dict[str, JobRecord] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def refresh(self, engine: AsyncEngine) -> None:
        values: list[tuple[Gauge, Values]] = []
        async with create_session_factory(engine)() as session, session.begin():
            for gauge in self.gauges:
                values.append((gauge, await gauge.measure(session)))
        self.snapshot = Snapshot(taken_at=time.time(), values=tuple(values))

    def observed(self, job: PeriodicJob) -> PeriodicJob:
        """The job, recording when it last succeeded and how often it failed (it still raises, for the
        job runner to log). A job that ran without leadership (another instance did the work) counts
        as run: the alert asks whether any instance runs it."""
        self.jobs[job.name] = JobRecord(job.interval_seconds)

        async def run() -> object:
            try:
                result = await job.run()
            except Exception:
                self._record(job.name, failed=True)
                raise
            self._record(job.name, failed=False)
            return result

        return PeriodicJob(job.name, job.interval_seconds, run)

    def _record(self, name: str, *, failed: bool) -> None:
        with self._lock:
            record = self.jobs[name]
            self.jobs[name] = (
                JobRecord(record.interval_seconds, record.last_success, record.failures + 1)
                if failed
                else JobRecord(record.interval_seconds, time.time(), record.failures)
            )

    def refresh_job(self, engine: AsyncEngine) -> PeriodicJob:
        return PeriodicJob(REFRESH_JOB, REFRESH_INTERVAL_SECONDS, lambda: self.refresh(engine))
