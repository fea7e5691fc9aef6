"""Real service processes for the operations tests: `referral-service serve` under uvicorn, in production
mode, on a PostgreSQL database and a Redis namespace of the test's own.

    with scratch_database() as database_url:
        env = production_env(workdir, database_url, redis_url=redis_or_skip())  # a namespace of its own
        logins = prepare_database(env)         # migrated, demo organisation; logins by username
        try:
            a = start_service(env, free_port())  # waits until /health/ready answers 200
            token = sign_in(client, a.url, logins["officer.dresden"])
            ...
            a.stop(signal.SIGTERM)             # the exit status; a.logs(): the JSON log lines
        finally:
            stop_all()
            drop_redis_namespace(env)

Every process runs in a session (process group) of its own; `stop_all()` in a finally kills what is
left, so a failing test leaves no server behind.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from crypto.providers import LocalKeyringProvider
from referral_service.audit.checkpoint import CheckpointSigner
from referral_service.identity.demo import DemoLogin, demo_logins
from tests.components import POSTGRES, REDIS
from tests.databases import postgres_admin_dsn

REDIS_URL = os.environ.get("REFERRAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
READY_SECONDS = 60.0
POLL_SECONDS = 0.05


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command() -> list[str]:
    script = Path(sys.executable).parent / "referral-service"
    return [str(script)] if script.exists() else [sys.executable, "-m", "referral_service.cli"]


@dataclass
class ServiceProcess:
    """One `referral-service serve` process and its log (JSON lines, stdout and stderr together)."""

    env: dict[str, str]
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]
    started_at: float = field(default_factory=time.time)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def instance(self) -> str:
        return self.env["REFERRAL_INSTANCE_ID"]

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Send `sig` to the server process and wait for it to end; its exit status (negative: the
        signal that ended it). Kills its process group if it outlives `timeout`."""
        if self.running():
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_group()
            raise

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def logs(self) -> list[dict[str, Any]]:
        """The JSON log lines so far; other lines (none expected in production mode) are left out."""
        lines = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    lines.append(json.loads(line))
        return lines

    def other_lines(self) -> list[str]:
        """Log lines that are not JSON objects (production promises none)."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [line for line in lines if not line.startswith("{")]

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


_started: list[ServiceProcess] = []


def start_service(
    env: Mapping[str, str], port: int, *, ready_seconds: float = READY_SECONDS
) -> ServiceProcess:
    """Start `referral-service serve` on 127.0.0.1:`port` with `env` (a process environment) and wait,
    with a deadline, until `/health/ready` answers 200. Each start logs to a file of its own beside the
    keyring (`REFERRAL_VAR_DIR`)."""
    environ = {**env, "REFERRAL_HOST": "127.0.0.1", "REFERRAL_PORT": str(port)}
    environ.setdefault("REFERRAL_INSTANCE_ID", f"instance-{port}")
    log_dir = Path(environ["REFERRAL_VAR_DIR"]) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{environ['REFERRAL_INSTANCE_ID']}-{time.time_ns()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*_command(), "serve"],
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=environ["REFERRAL_VAR_DIR"],
            start_new_session=True,
        )
    service = ServiceProcess(environ, port, log_path, process)
    _started.append(service)
    wait_ready(service, ready_seconds)
    return service


def wait_ready(service: ServiceProcess, seconds: float = READY_SECONDS) -> float:
    """Poll `/health/ready` until it answers 200; the seconds it took. Fails when the process exits."""
    start = time.monotonic()
    deadline = start + seconds
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if not service.running():
                raise RuntimeError(f"the service exited ({service.process.returncode}): {service.tail()}")
            with contextlib.suppress(httpx.TransportError):
                if client.get(service.url + "/health/ready").status_code == 200:
                    return time.monotonic() - start
            time.sleep(POLL_SECONDS)
    raise RuntimeError(f"the service was not ready within {seconds} s: {service.tail()}")


def stop_all() -> None:
    """Kill every service process this module started that still runs (cleanup, also after a failure)."""
    while _started:
        service = _started.pop()
        if service.running():
            service.kill_group()


def production_env(
    workdir: Path, database_url: str, *, redis_url: str | None = None, **variables: str
) -> dict[str, str]:
    """A process environment for production mode: a fresh secret, keyring and audit signing key under
    `workdir` (mode 0600), the operator's and office's details, an SMTP relay on loopback that does not
    answer (e-mails stay queued), JSON logs. `variables` adds REFERRAL_<name> settings."""
    var_dir = workdir / "var"
    var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    keyring = var_dir / "keyring.json"
    if not keyring.exists():
        LocalKeyringProvider.create(keyring)
    signing_key = var_dir / "audit-signing-key.pem"
    if not signing_key.exists():
        CheckpointSigner.generate_key_file(signing_key)
    env = {name: value for name, value in os.environ.items() if not name.startswith("REFERRAL_")}
    env |= {
        "REFERRAL_ENV": "production",
        "REFERRAL_DATABASE_URL": database_url,
        "REFERRAL_SECRET_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "REFERRAL_KEYRING_PATH": str(keyring),
        "REFERRAL_AUDIT_SIGNING_KEY_PATH": str(signing_key),
        "REFERRAL_VAR_DIR": str(var_dir),
        "REFERRAL_LOG_FORMAT": "json",
        "REFERRAL_OPERATOR_NAME": "Betreiber (Test)",
        "REFERRAL_OPERATOR_ADDRESS": "Teststraße 1|01099 Dresden",
        "REFERRAL_OPERATOR_EMAIL": "post@betreiber.example",
        "REFERRAL_DATA_PROTECTION_OFFICER": "Datenschutzbeauftragte (Test)",
        "REFERRAL_SUPERVISORY_AUTHORITY": "Aufsichtsbehörde (Test)",
        "REFERRAL_ACCESSIBILITY_ENFORCEMENT_BODY": "Durchsetzungsstelle (Test)",
        "REFERRAL_COMPLAINT_OFFICE_NAME": "Zentrale Beschwerdestelle (Test)",
        "REFERRAL_COMPLAINT_OFFICE_ADDRESS": "Teststraße 2|01099 Dresden",
        "REFERRAL_COMPLAINT_OFFICE_EMAIL": "beschwerde@betreiber.example",
        "REFERRAL_SMTP_HOST": "127.0.0.1",
        "REFERRAL_SMTP_PORT": str(free_port()),
        "REFERRAL_SMTP_SECURITY": "none",
        "REFERRAL_SMTP_FROM": "benachrichtigungen@betreiber.example",
        "REFERRAL_PUBLIC_URL": "https://opferhilfe.example",
    }
    if redis_url is not None:
        env |= {"REFERRAL_REDIS_URL": redis_url, "REFERRAL_REDIS_NAMESPACE": f"ops-{uuid.uuid4().hex[:12]}"}
    env |= {f"REFERRAL_{name}": value for name, value in variables.items()}
    return env


def cli(env: Mapping[str, str], *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """`referral-service <args>` with `env`; not checked (the caller asserts the status)."""
    return subprocess.run(
        [*_command(), *args],
        env=dict(env),
        cwd=env["REFERRAL_VAR_DIR"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def prepare_database(env: Mapping[str, str]) -> dict[str, DemoLogin]:
    """Migrate, then seed the demo organisation and postcode routing (refused in production, so this one
    command runs in development mode on the same database and secret); the demo logins by username."""
    for args, environ in ((("migrate",), env), (("demo",), {**env, "REFERRAL_ENV": "development"})):
        done = cli(environ, *args)
        assert done.returncode == 0, done.stderr[-3000:]
    secret = base64.b64decode(env["REFERRAL_SECRET_KEY"])
    return {login.username: login for login in demo_logins(secret)}


def sign_in(client: httpx.Client, url: str, login: DemoLogin) -> str:
    """A bearer token for `login` (a role without second factor) from the instance at `url`."""
    response = client.post(
        url + "/api/v1/auth/token", json={"username": login.username, "password": login.password}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """A PostgreSQL database of the caller's own on the shared server, dropped afterwards; its URL."""
    name = f"ops_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin_dsn = postgres_admin_dsn()

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(admin_dsn, timeout=5)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        POSTGRES.skip_or_fail(f"PostgreSQL unreachable ({type(exc).__name__})")
    try:
        yield f"{admin_dsn.rsplit('/', 1)[0]}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def redis_or_skip() -> str:
    """The Redis URL the tests use, after checking it answers."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        REDIS.skip_or_fail(f"Redis unreachable at {REDIS_URL} ({type(exc).__name__})")
    return REDIS_URL


def drop_redis_namespace(env: Mapping[str, str]) -> None:
    """Delete the keys under the environment's Redis namespace."""
    import redis

    client = redis.Redis.from_url(env["REFERRAL_REDIS_URL"])
    try:
        keys = list(client.scan_iter(match=env["REFERRAL_REDIS_NAMESPACE"] + ":*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
