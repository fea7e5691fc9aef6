"""What an operator watches: Prometheus metrics on a port of their own, optional OpenTelemetry traces.

- `requests`: request counts and durations by route template, method and status (Litestar's
  Prometheus middleware), never by the raw path or its query string.
- `gauges`: counts of waiting work (the kernel's and each domain's `Domain.gauges`), taken by a
  periodic job with grouped COUNT queries into a snapshot (`state`); a scrape only reads the snapshot
  (`collector`), so no scrape waits for the database or adds to its load.
- `server`: the metrics port (REFERRAL_METRICS_PORT), opened by `serve` beside the service's port.
- `tracing`: server spans by route template when the standard OTEL_* variables ask for them.

Labels name at most an organisation unit's id, a job, an e-mail state or a route: never a person.
"""
