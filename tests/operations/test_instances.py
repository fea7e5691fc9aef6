"""Two instances of the service on one PostgreSQL database and one Redis: the service keeps no state of
its own, so either instance serves any request, they count rate limits together, each background job
runs on one of them at a time and moves to the other when one dies, and a rolling restart (SIGTERM, start
again, the other) cuts off no request.

The instances are real `referral-service serve` processes in production mode (tests/operations/support.py);
their job intervals are capped short (REFERRAL_JOB_INTERVAL_MAX_SECONDS) and their logs are at debug
level, where each leadership a job takes is logged as `job.led`.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest

from referral_service.identity.demo import DemoLogin
from referral_service.identity.tokens import SESSION_COOKIE
from tests.complaints.support import PUBLIC, anonymous_payload
from tests.operations.support import (
    ServiceProcess,
    cli,
    drop_redis_namespace,
    free_port,
    prepare_database,
    production_env,
    redis_or_skip,
    scratch_database,
    sign_in,
    start_service,
    stop_all,
)
from tests.referrals.support import referral_payload

pytestmark = pytest.mark.operations

NAMES = ("a", "b")
SUBMISSIONS_PER_HOUR = 5
GRACE_SECONDS = 10
JOB_INTERVAL_SECONDS = 0.2
# Longer than the balancer's health check interval plus a request: it takes a stopping instance out
# before the instance stops accepting.
DRAIN_SECONDS = 2
HEALTH_CHECK_SECONDS = 0.1
OFFICER = "officer.dresden"
# The rolling restart's load: client threads, and requests after both restarts before it stops.
CLIENTS = 4
REQUESTS_AFTER = 60
MAX_REQUESTS = 3_000


@dataclass
class Cluster:
    env: dict[str, str]
    database_url: str
    logins: dict[str, DemoLogin]
    ports: dict[str, int]
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    # Every process started, also the stopped and killed ones: their logs count too.
    history: list[ServiceProcess] = field(default_factory=list)

    def start(self, name: str) -> ServiceProcess:
        service = start_service({**self.env, "REFERRAL_INSTANCE_ID": name}, self.ports[name])
        self.services[name] = service
        self.history.append(service)
        return service

    def ensure_running(self) -> None:
        for name in NAMES:
            if name not in self.services or not self.services[name].running():
                self.start(name)

    def url(self, name: str) -> str:
        return self.services[name].url

    def logs(self, event: str) -> list[dict[str, Any]]:
        return [line for service in self.history for line in service.logs() if line.get("event") == event]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    redis_url = redis_or_skip()
    with scratch_database() as database_url:
        env = production_env(
            tmp_path_factory.mktemp("instances"),
            database_url,
            redis_url=redis_url,
            LOG_LEVEL="DEBUG",
            JOB_INTERVAL_MAX_SECONDS=str(JOB_INTERVAL_SECONDS),
            SHUTDOWN_GRACE_SECONDS=str(GRACE_SECONDS),
            SHUTDOWN_DRAIN_SECONDS=str(DRAIN_SECONDS),
            COMPLAINT_SUBMISSIONS_PER_HOUR=str(SUBMISSIONS_PER_HOUR),
        )
        logins = prepare_database(env)
        cluster = Cluster(env, database_url, logins, {name: free_port() for name in NAMES})
        try:
            cluster.ensure_running()
            yield cluster
        finally:
            stop_all()
            drop_redis_namespace(env)


def test_a_session_begun_on_one_instance_is_valid_on_the_other(cluster: Cluster) -> None:
    cluster.ensure_running()
    a, b = cluster.url("a"), cluster.url("b")
    login = cluster.logins[OFFICER]
    with httpx.Client(timeout=30) as client:
        token = sign_in(client, a, login)
        me = client.get(b + "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        assert me.json()["username"] == OFFICER

        started = client.post(
            a + "/api/v1/auth/login", json={"username": OFFICER, "password": login.password}
        )
        assert started.status_code == 200, started.text
        cookie = {"Cookie": f"{SESSION_COOKIE}={started.cookies[SESSION_COOKIE]}"}
        assert client.get(b + "/api/v1/auth/me", headers=cookie).status_code == 200
        # Signed out on B, the session is over on A as well.
        out = client.post(
            b + "/api/v1/auth/logout", headers={**cookie, "X-CSRF-Token": started.json()["csrf_token"]}
        )
        assert out.status_code == 204, out.text
        assert client.get(a + "/api/v1/auth/me", headers=cookie).status_code == 401


def test_rate_limits_count_across_instances(cluster: Cluster) -> None:
    cluster.ensure_running()
    statuses = []
    with httpx.Client(timeout=30) as client:
        for attempt in range(SUBMISSIONS_PER_HOUR + 2):
            url = cluster.url(NAMES[attempt % 2])
            statuses.append(client.post(url + PUBLIC, json=anonymous_payload()).status_code)
    # Each instance alone would have let twice as many through.
    assert statuses == [201] * SUBMISSIONS_PER_HOUR + [429, 429], statuses


def test_sigterm_drains_then_finishes_the_request_in_flight_and_exits_0(cluster: Cluster) -> None:
    """A request whose body is still arriving when the instance is told to stop gets its answer: the
    instance first says not ready while it serves (the drain), then refuses new connections, then waits
    for the request, then exits 0."""
    cluster.ensure_running()
    service = cluster.services["a"]
    with httpx.Client(timeout=30) as client:
        token = sign_in(client, service.url, cluster.logins[OFFICER])
    body = json.dumps(referral_payload()).encode()
    sending = threading.Event()
    refused = threading.Event()
    answer: list[httpx.Response | BaseException] = []

    def slow_body() -> Iterator[bytes]:
        yield body[:100]
        sending.set()
        refused.wait(timeout=30)  # the rest only once the instance accepts no new connection
        yield body[100:]

    def send() -> None:
        try:
            with httpx.Client(timeout=60) as client:
                answer.append(
                    client.post(
                        service.url + "/api/v1/referrals",
                        content=slow_body(),
                        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                    )
                )
        except BaseException as exc:  # reported below, as the request's outcome
            answer.append(exc)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    assert sending.wait(timeout=30)
    signalled = time.monotonic()
    service.process.send_signal(signal.SIGTERM)
    with httpx.Client(timeout=2) as probe:
        # Draining: still serving, but not ready.
        _wait_for(lambda: probe.get(service.url + "/health/ready").status_code == 503, 5, "not ready")
        assert probe.get(service.url + "/health/live").status_code == 200

        def refuses() -> bool:
            try:
                probe.get(service.url + "/health/live")
            except httpx.ConnectError:
                return True
            return False

        _wait_for(refuses, DRAIN_SECONDS + 5, "new connections refused")
    refused_after = time.monotonic() - signalled
    refused.set()
    sender.join(timeout=60)
    assert answer, "no answer"
    response = answer[0]
    assert isinstance(response, httpx.Response), repr(response)
    assert response.status_code == 201, response.text
    assert service.stop(timeout=GRACE_SECONDS + 20) == 0, service.tail()
    stopped_after = time.monotonic() - signalled
    print(
        f"SIGTERM: refused new connections after {refused_after:.2f} s, exited 0 after {stopped_after:.2f} s"
    )
    assert refused_after >= DRAIN_SECONDS
    assert stopped_after < DRAIN_SECONDS + GRACE_SECONDS
    assert _stored_referrals(cluster.database_url, [response.json()["id"]])
    cluster.start("a")


# --- rolling restart --------------------------------------------------------------------------------


@dataclass
class Balancer:
    """A client-side load balancer as a real one works: it sends only to instances whose `/health/ready`
    answered 200 at its last check (every 0.1 s), and tries the next instance when a connection is
    refused (nothing was sent). Anything else is the request's outcome, never retried."""

    urls: list[str]
    in_flight: Counter[str] = field(default_factory=Counter)
    retried: int = 0
    # Requests sent elsewhere because an instance was out (not ready at the last check).
    diverted: int = 0
    _ready: dict[str, bool] = field(default_factory=dict)
    _turn: Iterator[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    @contextlib.contextmanager
    def checking(self) -> Iterator[None]:
        self._ready = dict.fromkeys(self.urls, True)
        thread = threading.Thread(target=self._check, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join(timeout=10)

    def _check(self) -> None:
        with httpx.Client(timeout=1.0) as client:
            while not self._stop.wait(HEALTH_CHECK_SECONDS):
                for url in self.urls:
                    try:
                        self._ready[url] = client.get(url + "/health/ready").status_code == 200
                    except httpx.HTTPError:
                        self._ready[url] = False

    def request(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self._lock:
            first = next(self._turn)
        for attempt in range(200):
            url = self.urls[(first + attempt) % len(self.urls)]
            if not self._ready.get(url, True) and any(self._ready.values()):
                with self._lock:
                    self.diverted += 1
                continue
            with self._lock:
                self.in_flight[url] += 1
            try:
                return client.request(method, url + path, **kwargs)
            except httpx.ConnectError:
                with self._lock:
                    self.retried += 1
                if attempt % len(self.urls) == len(self.urls) - 1:
                    time.sleep(0.05)  # every instance refused: wait for one to listen again
            finally:
                with self._lock:
                    self.in_flight[url] -= 1
        raise RuntimeError("no instance accepted the connection")


@dataclass
class Load:
    balancer: Balancer
    token: str
    stop: threading.Event = field(default_factory=threading.Event)
    acknowledged: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    cut_off: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def sent(self) -> int:
        return sum(self.outcomes.values())

    def client(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        # A connection per request: an idle kept-alive connection closed by a stopping instance is a
        # client's retry matter too, but would blur what this test counts.
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(timeout=60, limits=limits, headers=headers) as client:
            while not self.stop.is_set() and self.sent < MAX_REQUESTS:
                with self._lock:
                    known = random.choice(self.acknowledged) if self.acknowledged else None
                kind = random.choice(("write", "read", "list")) if known else "write"
                try:
                    if kind == "write":
                        response = self.balancer.request(
                            client, "POST", "/api/v1/referrals", json=referral_payload()
                        )
                    elif kind == "read":
                        response = self.balancer.request(client, "GET", f"/api/v1/referrals/{known}")
                    else:
                        response = self.balancer.request(client, "GET", "/api/v1/referrals")
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.cut_off.append(f"{kind}: {type(exc).__name__}")
                        self.outcomes[f"{kind} cut off"] += 1
                    continue
                with self._lock:
                    self.outcomes[f"{kind} {response.status_code}"] += 1
                    if kind == "write" and response.status_code == 201:
                        self.acknowledged.append(response.json()["id"])


def _restart(cluster: Cluster, name: str, balancer: Balancer) -> tuple[int, float]:
    """SIGTERM the instance while it has requests in flight, check it exits 0 within the grace, start it
    again; how many requests were in flight at the signal, and how long the stop took."""
    service = cluster.services[name]
    deadline = time.monotonic() + 10
    while balancer.in_flight[service.url] == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    in_flight = balancer.in_flight[service.url]
    began = time.monotonic()
    status = service.stop(signal.SIGTERM, timeout=GRACE_SECONDS + 20)
    took = time.monotonic() - began
    assert status == 0, f"exit status {status}: {service.tail()}"
    assert took < DRAIN_SECONDS + GRACE_SECONDS, took
    cluster.start(name)
    return in_flight, took


def _wait_for(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.05)


def test_a_rolling_restart_cuts_off_no_request(cluster: Cluster) -> None:
    cluster.ensure_running()
    with httpx.Client(timeout=30) as client:
        token = sign_in(client, cluster.url("a"), cluster.logins[OFFICER])
    balancer = Balancer([cluster.url(name) for name in NAMES])
    load = Load(balancer, token)
    threads = [threading.Thread(target=load.client, daemon=True) for _ in range(CLIENTS)]
    restarts = []
    with balancer.checking():
        for thread in threads:
            thread.start()
        try:
            _wait_for(lambda: load.sent >= 40, 60, "load under way")
            for name in NAMES:
                restarts.append(_restart(cluster, name, balancer))
                # Load on both again before the next one stops.
                mark = load.sent
                _wait_for(lambda mark=mark: load.sent >= mark + 20, 60, "load after a restart")
            after = load.sent
            _wait_for(lambda: load.sent >= after + REQUESTS_AFTER, 60, "load after the restarts")
        finally:
            load.stop.set()
            for thread in threads:
                thread.join(timeout=120)

    report = {
        "sent": load.sent,
        "diverted": balancer.diverted,
        "retried_connects": balancer.retried,
        "in_flight_at_sigterm_and_stop_seconds": restarts,
        **load.outcomes,
    }
    print("rolling restart:", json.dumps(report))
    assert not load.cut_off, report
    assert set(load.outcomes) <= {"write 201", "read 200", "list 200"}, report
    # Requests were in flight when the instances were told to stop, and the balancer did move away.
    assert sum(in_flight for in_flight, _took in restarts) > 0, report
    assert balancer.diverted + balancer.retried > 0, report
    stored = _stored_referrals(cluster.database_url, load.acknowledged)
    assert stored == set(load.acknowledged), (
        f"{len(load.acknowledged) - len(stored)} acknowledged writes lost"
    )
    for service in cluster.history:
        assert not [
            line for line in service.logs() if "graceful shutdown exceeded" in str(line.get("event", ""))
        ], "requests were cancelled at shutdown"


def _stored_referrals(database_url: str, ids: list[str]) -> set[str]:
    import asyncio
    import uuid

    async def query() -> set[str]:
        connection = await asyncpg.connect(database_url)
        try:
            rows = await connection.fetch(
                "SELECT id FROM referrals WHERE id = ANY($1::uuid[])", [uuid.UUID(i) for i in ids]
            )
        finally:
            await connection.close()
        return {str(row["id"]) for row in rows}

    return asyncio.run(query())


# --- background jobs --------------------------------------------------------------------------------


def _overlaps(led: list[dict[str, Any]]) -> list[str]:
    """Per lock, leaderships that began before an earlier one (of any instance) had ended."""
    found = []
    by_lock: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in led:
        by_lock[line["lock"]].append(line)
    for lock, lines in by_lock.items():
        latest: dict[str, Any] | None = None
        for line in sorted(lines, key=lambda line: line["led_from"]):
            if latest is not None and line["led_from"] < latest["led_until"]:
                found.append(
                    f"{lock}: {latest['instance']} led until {latest['led_until']}, "
                    f"{line['instance']} from {line['led_from']}"
                )
            if latest is None or line["led_until"] > latest["led_until"]:
                latest = line
    return found


def test_each_job_runs_on_one_instance_at_a_time_and_moves_when_one_dies(cluster: Cluster) -> None:
    cluster.ensure_running()
    # Both instances lead, each job has been led, and the other instance was refused meanwhile.
    _wait_for(
        lambda: {line["instance"] for line in cluster.logs("job.led")} >= set(NAMES),
        60,
        "both instances lead jobs",
    )
    before = cluster.logs("job.led")
    locks = {line["lock"] for line in before}
    assert locks >= {
        "audit-sequencer",
        "login-throttle-purge",
        "referral-deadlines",
        "complaint-deadlines",
        "retention",
        "notifications.send",
    }, locks
    jobs = {line["job"] for line in before}
    assert "audit-checkpoint" in jobs, jobs

    killed_at = time.time()
    assert cluster.services["a"].stop(signal.SIGKILL) == -signal.SIGKILL

    def b_leads_everything() -> bool:
        return {line["lock"] for line in cluster.logs("job.led") if line["led_from"] > killed_at} >= locks

    _wait_for(b_leads_everything, 30, "the other instance leads every job")
    led = cluster.logs("job.led")
    takeover = {
        lock: min(line["led_from"] for line in led if line["lock"] == lock and line["led_from"] > killed_at)
        - killed_at
        for lock in locks
    }
    print(
        "takeover after SIGKILL (s):", json.dumps({lock: round(s, 3) for lock, s in sorted(takeover.items())})
    )
    assert {line["instance"] for line in led if line["led_from"] > killed_at} == {"b"}
    assert not _overlaps(led)
    assert cluster.logs("job.not_led"), "the instances never contended: the test would not see an overlap"

    # The audit log is complete and verifies: every event sequenced, no position missing or altered.
    def verified() -> dict[str, Any]:
        done = cli(cluster.env, "audit", "verify", "--json")
        assert done.returncode == 0, done.stdout + done.stderr[-2000:]
        report: dict[str, Any] = json.loads(done.stdout)
        return report

    _wait_for(lambda: verified()["unsequenced_events"] == 0, 30, "every audit event sequenced")
    report = verified()
    assert report["ok"], report
    assert report["tree_size"] > 0, report
    assert report["checkpoints_checked"] > 0, report


def test_every_log_line_of_every_instance_is_json_without_dropped_keys(cluster: Cluster) -> None:
    """Production logs are JSON lines (one parser for all of them), and no library or job log line of
    these runs lost a key to the allow-list (which would mean a key is missing from SAFE_KEYS)."""
    assert cluster.history
    for service in cluster.history:
        assert service.other_lines() == [], service.log_path
        dropped = {key for line in service.logs() for key in line.get("dropped_keys", [])}
        assert not dropped, dropped
