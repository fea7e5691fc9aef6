"""OpenTelemetry traces, only when the standard OTLP variables ask for them.

On when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (and neither
OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none); spans go by OTLP over HTTP, which reads its
other OTEL_EXPORTER_OTLP_* variables (headers, timeout) itself; OTEL_SERVICE_NAME and
OTEL_RESOURCE_ATTRIBUTES name the service.

One server span per request, wrapped around the request id middleware so that every log line of the
request carries `trace_id`/`span_id`. The span sees the request without its query string (search terms
can be names), client address, user agent and any header but the trace context: the instrumentation
copies those into attributes, and a trace store is no place for personal data. No body is read. The
span is named by the route's template once the router has found it (`GET /api/v1/referrals/{id}`);
a request no route answers keeps the method alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from litestar.enums import ScopeType
from litestar.plugins.opentelemetry import OpenTelemetryConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.semconv.attributes.http_attributes import HTTP_ROUTE

from referral_service.settings import SettingsError

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# The W3C trace context a caller (the ingress) may send; `baggage` could carry anything.
_PROPAGATED = frozenset({b"traceparent", b"tracestate", b"host"})
_HIDDEN = ("query_string", "client", "headers")
_HIDDEN_KEY = "referral_service.untraced"


def tracing_requested(telemetry: Mapping[str, str]) -> bool:
    """Whether the OTEL_* variables (`Settings.telemetry`) ask for traces; `SettingsError` for an
    exporter other than OTLP."""
    if telemetry.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = telemetry.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if exporter == "none":
        return False
    if exporter != "otlp":
        raise SettingsError("OTEL_TRACES_EXPORTER must be otlp or none")
    return any(telemetry.get(name, "").strip() for name in _ENDPOINTS)


def tracer_provider(
    telemetry: Mapping[str, str], exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """The application's tracer provider: `exporter` (tests pass an in-memory one), else OTLP over HTTP
    when the variables ask for traces; None when tracing is off."""
    if exporter is None and not tracing_requested(telemetry):
        return None
    attributes = {"service.name": telemetry.get("OTEL_SERVICE_NAME", "").strip() or "referral-service"}
    provider = TracerProvider(resource=Resource.create(attributes))
    if exporter is not None:
        # At once and in the request's thread: a batch processor's thread of its own, ending with each
        # test's provider, is what hangs the coverage run (docs/development.md).
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        return provider
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    # In batches from a thread of its own, so that no request waits for the collector.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def _method_only(scope: Scope) -> tuple[str, dict[str, Any]]:
    # Before routing: the template is not known yet, and the raw path is no span name.
    return str(scope.get("method", "HTTP")), {}


def traced(app: ASGIApp, provider: TracerProvider) -> ASGIApp:
    """`app` with a server span per HTTP request (see the module's text)."""

    async def restored(scope: Scope, receive: Receive, send: Send) -> None:
        fields = cast(dict[str, Any], scope)
        fields.update(fields.pop(_HIDDEN_KEY))
        span = trace.get_current_span()

        async def named(message: Message) -> None:
            # The router has chosen the route by now, and the span ends with the response.
            template = fields.get("path_template")
            if message["type"] == "http.response.start" and template:
                span.update_name(f"{fields.get('method')} {template}")
                span.set_attribute(HTTP_ROUTE, template)
            await send(message)

        await app(scope, receive, named)

    config = OpenTelemetryConfig(
        tracer_provider=provider,
        scope_span_details_extractor=_method_only,
        exclude_spans=["receive", "send"],
        scopes={ScopeType.HTTP},
    )
    instrumented = config.middleware_class(app=restored, config=config)

    async def tracing(scope: Scope, receive: Receive, send: Send) -> None:
        fields = cast(dict[str, Any], scope)
        if fields["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        fields[_HIDDEN_KEY] = {name: fields[name] for name in _HIDDEN if name in fields}
        fields["query_string"] = b""
        fields["client"] = None
        fields["headers"] = [(name, value) for name, value in fields["headers"] if name in _PROPAGATED]
        await instrumented(scope, receive, send)

    return tracing
