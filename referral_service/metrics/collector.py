"""The custom collector: what a scrape reads of an application's `MetricsState`, without any query."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from referral_service.metrics.gauges import PREFIX
from referral_service.metrics.state import MetricsState


class SnapshotCollector(Collector):
    def __init__(self, state: MetricsState) -> None:
        self.state = state

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        snapshot = self.state.snapshot  # one read: the refresh replaces it as a whole
        if snapshot is not None:
            yield GaugeMetricFamily(
                f"{PREFIX}_gauges_refreshed_timestamp_seconds",
                "When the gauges below were last taken from the database (Unix time).",
                value=snapshot.taken_at,
            )
            for gauge, values in snapshot.values:
                family = GaugeMetricFamily(gauge.full_name, gauge.documentation, labels=gauge.labels)
                for labels, value in sorted(values.items()):
                    family.add_metric(labels, value)
                yield family
        jobs = dict(self.state.jobs)
        interval = GaugeMetricFamily(
            f"{PREFIX}_job_interval_seconds", "How often each background job runs.", labels=["job"]
        )
        success = GaugeMetricFamily(
            f"{PREFIX}_job_last_success_timestamp_seconds",
            "When each background job last finished without an error in this process (Unix time).",
            labels=["job"],
        )
        failures = CounterMetricFamily(
            f"{PREFIX}_job_failures",
            "Runs of each background job that ended with an error in this process.",
            labels=["job"],
        )
        for name, record in sorted(jobs.items()):
            interval.add_metric([name], record.interval_seconds)
            if record.last_success is not None:
                success.add_metric([name], record.last_success)
            failures.add_metric([name], record.failures)
        yield from (interval, success, failures)
