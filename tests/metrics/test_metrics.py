"""The metrics an operator scrapes: request metrics by route template, the gauges of waiting work with
the right numbers per unit, and no personal value anywhere in the output. The collector and the metrics
server run in-process (the port test opens a real port on loopback)."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.identity.config import IdentityConfig
from referral_service.identity.roles import Role
from referral_service.metrics.collector import SnapshotCollector
from referral_service.metrics.server import METRICS_STATE, no_metrics_for_workers, start_metrics_server
from referral_service.metrics.state import MetricsState
from referral_service.referrals.models import Referral
from referral_service.settings import Settings, load_settings
from tests.complaints.support import named_payload
from tests.complaints.support import submit as submit_complaint
from tests.conftest import Applications, Kept
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock
from tests.referrals.support import SECRET_VALUES, VICTIM_NAME
from tests.referrals.support import submit as submit_referral

COMPLAINANT = "Wiebke Ørsted-Kallweit"


@pytest.fixture
def clock(kept: Kept) -> FakeClock:
    """Both domains' clock, set to now (the referral payload's consent is minutes before the real now)."""
    return kept.clock("metrics")


@pytest.fixture
async def app(
    settings: Settings,
    identity_config: IdentityConfig,
    clock: FakeClock,
    kept: Kept,
    applications: Applications,
) -> AsyncIterator[Litestar]:
    built = applications.get(settings, identity_config, kept.both_domains("metrics", clock))
    yield built
    await applications.release(built)


def scrape(state: MetricsState) -> str:
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(state))
    return generate_latest(registry).decode()


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


async def test_gauges_count_waiting_work_per_unit_without_personal_data(
    app: Litestar,
    client: AsyncTestClient[Litestar],
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    engine: AsyncEngine,
    clock: FakeClock,
) -> None:
    # Two referrals to the Dresden branch, one complaint by a named complainant.
    await submit_referral(client, auth_headers)
    await submit_referral(client, auth_headers)
    await submit_complaint(client, named_payload())
    state: MetricsState = app.state[METRICS_STATE]
    start = clock.current

    await state.refresh(engine)
    fresh = scrape(state)
    dresden = routed.unit("wr-dresden").id
    assert samples(fresh, "referral_service_referrals_waiting") == {(("unit_id", str(dresden)),): 2.0}
    assert samples(fresh, "referral_service_referrals_overdue") == {}
    assert samples(fresh, "referral_service_complaints_past_deadline") == {(): 0.0}

    # A day and a half later nobody has accepted them: both are past the 24-hour acceptance deadline;
    # after six weeks the complaint is past its 20 working days.
    clock.current = start + dt.timedelta(hours=36)
    await state.refresh(engine)
    overdue = scrape(state)
    assert samples(overdue, "referral_service_referrals_overdue") == {(("unit_id", str(dresden)),): 2.0}
    assert samples(overdue, "referral_service_complaints_past_deadline") == {(): 0.0}
    clock.current = start + dt.timedelta(weeks=6)
    await state.refresh(engine)
    late = scrape(state)
    assert samples(late, "referral_service_complaints_past_deadline") == {(): 1.0}

    # The kernel's gauges: the audit events of those requests wait for the sequencer (no jobs run in
    # tests), and no e-mail is dead.
    assert samples(late, "referral_service_audit_unsequenced_events")[()] > 0
    assert samples(late, "referral_service_notification_emails")[(("state", "dead"),)] == 0.0
    assert samples(late, "referral_service_gauges_refreshed_timestamp_seconds")[()] > 0

    # Labels are unit ids; no value of the cases reaches the output.
    for text in (fresh, overdue, late, generate_latest(REGISTRY).decode()):
        for value in (*SECRET_VALUES, COMPLAINANT):
            assert value not in text


async def test_unrouted_referrals_wait_under_the_empty_unit(
    app: Litestar,
    client: AsyncTestClient[Litestar],
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    engine: AsyncEngine,
) -> None:
    # A postcode outside the routing table: the referral waits for the state office, in no branch.
    await submit_referral(client, auth_headers, postcode="99999")
    state: MetricsState = app.state[METRICS_STATE]
    await state.refresh(engine)
    assert samples(scrape(state), "referral_service_referrals_waiting") == {(("unit_id", ""),): 1.0}


async def test_request_metrics_name_the_route_template_never_the_path_or_query(
    app: Litestar,
    client: AsyncTestClient[Litestar],
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    engine: AsyncEngine,
) -> None:
    created = await submit_referral(client, auth_headers)
    referral_id = (await _only_referral(engine)).id
    headers = await auth_headers(Role.POLICE_OFFICER)
    assert (await client.get(f"/api/v1/referrals/{referral_id}", headers=headers)).status_code == 200
    listed = await client.get("/api/v1/referrals", params={"suche": VICTIM_NAME}, headers=headers)
    assert listed.status_code < 500

    text = generate_latest(REGISTRY).decode()
    requests = samples(text, "referral_service_http_requests_total")
    by_path = {dict(labels)["path"] for labels in requests}
    assert "/api/v1/referrals/{referral_id}" in by_path
    assert ("method", "GET") in next(
        labels for labels in requests if dict(labels)["path"] == "/api/v1/referrals/{referral_id}"
    )
    assert {dict(labels)["status_code"] for labels in requests} >= {"200", "201"}
    assert "referral_service_http_request_duration_seconds_bucket" in text
    for value in (str(referral_id), created["reference"], VICTIM_NAME, "suche="):
        assert value not in text


async def test_the_service_port_does_not_serve_metrics(client: AsyncTestClient[Litestar]) -> None:
    assert (await client.get("/metrics")).status_code == 404


async def test_a_failing_job_is_counted_and_keeps_its_last_success() -> None:
    from referral_service.jobs import PeriodicJob

    state = MetricsState([])
    outcomes = iter([None, RuntimeError("boom")])

    async def run() -> None:
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome

    job = state.observed(PeriodicJob("demo-job", 60, run))
    await job.run()
    with pytest.raises(RuntimeError):
        await job.run()
    text = scrape(state)
    job_label = (("job", "demo-job"),)
    assert samples(text, "referral_service_job_failures_total") == {job_label: 1.0}
    assert samples(text, "referral_service_job_interval_seconds") == {job_label: 60.0}
    assert samples(text, "referral_service_job_last_success_timestamp_seconds")[job_label] > 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Starts threads that end within the test; under coverage's thread tracking an ended thread can hang
# the run (docs/development.md), so this runs with the operations tests, which CI runs without coverage.
@pytest.mark.operations
async def test_the_metrics_port_answers_prometheus_text(
    app: Litestar, client: AsyncTestClient[Litestar], settings: Settings, engine: AsyncEngine
) -> None:
    assert (await client.get("/health/live")).status_code == 200
    own = _port_settings(settings, _free_port())
    await app.state[METRICS_STATE].refresh(engine)
    server = start_metrics_server(app, own)
    assert server is not None
    try:
        async with httpx.AsyncClient() as http:
            response = await http.get(f"http://127.0.0.1:{server.port}/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert "referral_service_referrals_waiting" in response.text
        assert "referral_service_audit_uncheckpointed_entries" in response.text
        assert (
            'referral_service_http_requests_total{app_name="referral-service",method="GET",' in response.text
        )
        assert 'path="/health/live",status_code="200"}' in response.text
    finally:
        server.stop()


async def test_a_taken_metrics_port_is_logged_and_no_outage(
    app: Litestar, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as other:  # another process holds the port
        other.bind(("127.0.0.1", 0))
        other.listen()
        assert start_metrics_server(app, _port_settings(settings, other.getsockname()[1])) is None
    assert "metrics.port_unavailable" in capsys.readouterr().err


def _port_settings(settings: Settings, port: int) -> Settings:
    return load_settings(
        {
            "REFERRAL_DATABASE_URL": settings.database_url,
            "REFERRAL_METRICS_PORT": str(port),
            "REFERRAL_HOST": "127.0.0.1",
        }
    )


def test_metrics_port_setting() -> None:
    assert load_settings({}).metrics_port == 9464
    assert load_settings({"REFERRAL_METRICS_PORT": "9100"}).metrics_port == 9100
    assert load_settings({"REFERRAL_METRICS_PORT": "0"}).metrics_port is None
    assert load_settings({"REFERRAL_METRICS_PORT": ""}).metrics_port is None


async def _only_referral(engine: AsyncEngine) -> Referral:
    from sqlmodel.ext.asyncio.session import AsyncSession

    async with AsyncSession(engine) as session:
        return (await session.execute(select(Referral))).scalars().one()


def test_several_workers_open_no_metrics_port_and_say_so(capsys: pytest.CaptureFixture[str]) -> None:
    no_metrics_for_workers(load_settings({"REFERRAL_METRICS_PORT": "9464"}))
    assert "metrics.off" in capsys.readouterr().err
    no_metrics_for_workers(load_settings({"REFERRAL_METRICS_PORT": "0"}))
    assert "metrics.off" not in capsys.readouterr().err
