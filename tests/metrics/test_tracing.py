"""Traces: a server span per request named by the route template, no personal value in any span, and
the request's log lines carrying the trace id. Spans go to the SDK's in-memory exporter."""

from __future__ import annotations

import json
import uuid

import pytest
from litestar.testing import AsyncTestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from referral_service.app import create_app
from referral_service.identity.roles import Role
from referral_service.metrics.tracing import tracer_provider, tracing_requested
from referral_service.settings import Settings, SettingsError, load_settings
from tests.complaints.support import EMAIL, named_payload
from tests.identity.support import AuthHeaders
from tests.referrals.support import VICTIM_NAME

NAME = "Wiebke Ørsted-Kallweit"
TOKEN = "Bearer not-a-real-token-but-a-secret-one"
USER_AGENT = "Quellmalz-Laptop/1.0"


async def test_spans_name_the_route_and_carry_no_personal_data(
    settings: Settings, auth_headers: AuthHeaders, capsys: pytest.CaptureFixture[str]
) -> None:
    exporter = InMemorySpanExporter()
    app = create_app(json_logs(settings), span_exporter=exporter)
    capsys.readouterr()
    async with AsyncTestClient(app=app) as client:
        created = await client.post(
            "/api/v1/public/complaints",
            params={"name": NAME, "q": VICTIM_NAME},
            json=named_payload(name=NAME),
            headers={"X-Forwarded-For": "203.0.113.77", "User-Agent": USER_AGENT},
        )
        assert created.status_code == 201, created.text
        refused = await client.get(
            f"/api/v1/referrals/{uuid.uuid4()}", params={"name": NAME}, headers={"Authorization": TOKEN}
        )
        assert refused.status_code == 401
        # The handlers still see what the span does not: headers (the token), the query string.
        headers = await auth_headers(Role.POLICE_OFFICER)
        listed = await client.get("/api/v1/referrals", params={"status": "submitted"}, headers=headers)
        assert listed.status_code == 200, listed.text
        wrong = await client.get("/api/v1/referrals", params={"status": "no-such-status"}, headers=headers)
        assert wrong.status_code == 422
    logs = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]

    servers = [span for span in exporter.get_finished_spans() if span.kind is SpanKind.SERVER]
    names = [span.name for span in servers]
    assert names == [
        "POST /api/v1/public/complaints",
        "GET /api/v1/referrals/{referral_id}",
        "GET /api/v1/referrals",
        "GET /api/v1/referrals",
    ]
    assert servers[0].attributes is not None
    assert servers[0].attributes["http.route"] == "/api/v1/public/complaints"
    for span in exporter.get_finished_spans():
        text = json.dumps({"name": span.name, **dict(span.attributes or {})}, ensure_ascii=False)
        # Surnames alone too: a query string keeps "+" for the space between the names.
        for value in (NAME, "Ørsted-Kallweit", "Quast-Pfeiffer", EMAIL, "not-a-real-token", "203.0.113.77"):
            assert value not in text, (value, text)
        for value in ("testclient", USER_AGENT):
            assert value not in text, (value, text)
        for event in span.events:
            assert NAME not in json.dumps(dict(event.attributes or {}), ensure_ascii=False)

    # Every line of a request names its trace, `request.completed` included.
    completed = [line for line in logs if line["event"] == "request.completed"]
    assert [line["trace_id"] for line in completed] == [
        format(span.context.trace_id, "032x") for span in servers
    ]
    assert [line["span_id"] for line in completed] == [
        format(span.context.span_id, "016x") for span in servers
    ]


async def test_no_tracing_without_an_endpoint(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    app = create_app(json_logs(settings))
    capsys.readouterr()
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/health/live")).status_code == 200
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert [line for line in lines if line["event"] == "request.completed"]
    assert not [line for line in lines if "trace_id" in line]


def test_which_variables_turn_tracing_on() -> None:
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    assert not tracing_requested({})
    assert tracing_requested(endpoint)
    assert tracing_requested({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"})
    assert not tracing_requested({**endpoint, "OTEL_TRACES_EXPORTER": "none"})
    assert not tracing_requested({**endpoint, "OTEL_SDK_DISABLED": "true"})
    with pytest.raises(SettingsError, match="OTEL_TRACES_EXPORTER"):
        tracing_requested({**endpoint, "OTEL_TRACES_EXPORTER": "zipkin"})
    # Taken from the environment with the service's own variables, nothing else.
    assert dict(load_settings({**endpoint, "HOME": "/root"}).telemetry) == endpoint


def json_logs(settings: Settings) -> Settings:
    return load_settings({**settings.environ, "REFERRAL_LOG_FORMAT": "json"})


# Starts threads that end within the test; under coverage's thread tracking an ended thread can hang
# the run (docs/development.md), so this runs with the operations tests, which CI runs without coverage.
@pytest.mark.operations
def test_the_otlp_endpoint_gets_an_exporter_and_the_service_name() -> None:
    provider = tracer_provider(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_SERVICE_NAME": "referral-service-test"}
    )
    assert provider is not None
    try:
        assert provider.resource.attributes["service.name"] == "referral-service-test"
    finally:
        provider.shutdown()  # nothing was recorded, so nothing is sent
    assert tracer_provider({}) is None
