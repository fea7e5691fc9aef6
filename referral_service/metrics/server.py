"""The metrics port: Prometheus text at REFERRAL_METRICS_PORT, beside the service's port, in a thread.

A port of its own keeps `/metrics` off the port the ingress forwards; Kubernetes scrapes the pod.
prometheus_client's small threaded server answers there: it needs nothing from the event loop, and a
scrape reads only counters and the gauges' snapshot (`SnapshotCollector`), never the database.

One process owns the port. `serve --workers N` (several processes on one port) opens none and says so;
run one process per container and scale with containers. A taken port is logged and the service runs
on without metrics (Prometheus then reports the target down): metrics are never worth an outage.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from litestar import Litestar
from prometheus_client import REGISTRY, start_http_server

from referral_service.logging import configure_logging, exception_fields, get_logger
from referral_service.metrics.collector import SnapshotCollector
from referral_service.metrics.state import MetricsState
from referral_service.settings import Settings

log = get_logger(__name__)

METRICS_STATE = "metrics"


@dataclass
class MetricsServer:
    server: WSGIServer
    thread: threading.Thread
    collector: SnapshotCollector

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        REGISTRY.unregister(self.collector)


def start_metrics_server(app: Litestar, settings: Settings) -> MetricsServer | None:
    """Open the metrics port for `app` (REFERRAL_METRICS_PORT on REFERRAL_HOST); None when it is off or
    taken."""
    state: MetricsState | None = app.state.get(METRICS_STATE)
    if settings.metrics_port is None or state is None:
        return None
    collector = SnapshotCollector(state)
    REGISTRY.register(collector)
    try:
        server, thread = start_http_server(settings.metrics_port, addr=settings.host, registry=REGISTRY)
    except OSError as exc:
        REGISTRY.unregister(collector)
        log.error("metrics.port_unavailable", port=settings.metrics_port, **exception_fields(exc))
        return None
    log.info("metrics.serving", host=settings.host, port=settings.metrics_port)
    return MetricsServer(server, thread, collector)


def no_metrics_for_workers(settings: Settings) -> None:
    """`serve --workers N`: several processes cannot share the port; say so, once, in the log."""
    if settings.metrics_port is not None:
        configure_logging(settings)
        log.warning("metrics.off", code="several_workers", port=settings.metrics_port)
