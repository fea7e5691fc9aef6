"""Request metrics by route template: Litestar's Prometheus middleware, on every route.

`group_path` labels a request by its route's template (`/api/v1/referrals/{referral_id:uuid}`), never
by the path it asked for: ids stay out, and the number of series stays that of the routes. Requests no
route answers (404, 405) are not counted; the request log has them.
"""

from __future__ import annotations

from litestar.middleware.base import DefineMiddleware
from litestar.plugins.prometheus import PrometheusConfig

from referral_service.metrics.gauges import PREFIX

# Litestar names its series `<prefix>_requests_total`, `<prefix>_request_duration_seconds`, ...
REQUEST_PREFIX = f"{PREFIX}_http"
# Up to 10 s: a request that takes longer has hit a timeout somewhere.
BUCKETS: list[str | float] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]


def request_metrics() -> DefineMiddleware:
    return PrometheusConfig(
        app_name="referral-service", prefix=REQUEST_PREFIX, group_path=True, buckets=BUCKETS
    ).middleware
