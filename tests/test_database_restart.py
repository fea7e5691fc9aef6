"""PostgreSQL stopped and started again under a load of writes: the service answers 503 with Retry-After
(never a 500) while it is away, says not ready, serves again without being restarted itself, and every
write it acknowledged is in the database afterwards.

The PostgreSQL stopped here is a private one, made for this test: the shared one at 127.0.0.1:5432
serves every other test and is never touched."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import pwd
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from referral_service import schema
from referral_service.app import create_app
from referral_service.db import create_database_engine
from referral_service.settings import load_settings
from tests.complaints.support import PUBLIC, anonymous_payload, complaints_test_config
from tests.components import POSTGRES, postgres_server_binaries
from tests.identity.support import FakeClock

WRITERS = 6
# Acknowledged writes to see before the stop and after the start; submissions made while PostgreSQL is
# away to see before starting it again.
WRITES_BEFORE = WRITES_AFTER = 20
REFUSED_DURING_OUTAGE = 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of this test's own, on a free port, that it may stop and start."""

    bindir: Path
    root: Path
    port: int = field(default_factory=_free_port)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def _command(self, program: str, *args: str) -> list[str]:
        # initdb refuses to run as root, and the server must own its data directory.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return [*prefix, str(self.bindir / program), *args]

    async def _run(self, program: str, *args: str) -> None:
        process = await asyncio.create_subprocess_exec(
            *self._command(program, *args),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        assert process.returncode == 0, f"{program} {' '.join(args)}: {output.decode(errors='replace')}"

    async def create(self) -> None:
        await self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync", "--no-instructions",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            # TCP on loopback only (no socket in a shared directory). No fsyncs: the test stops the server
            # cleanly, which writes everything out, and no machine crash is simulated.
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                "fsync = off\nfull_page_writes = off\nshared_buffers = 16MB\n"
            )
        await self.start()

    async def start(self) -> None:
        await self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.root / "log"))

    async def stop(self, mode: str = "fast") -> None:
        await self._run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.data))


@pytest.fixture
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    bindir = postgres_server_binaries()
    if os.geteuid() == 0 and (shutil.which("runuser") is None or not _has_user("postgres")):
        POSTGRES.skip_or_fail("runuser or the postgres user missing (initdb refuses to run as root)")
    # Not under pytest's tmp_path: that is private to the user running the tests, and the server may
    # run as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="referral-restart-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = PrivatePostgres(bindir, root)
    try:
        await cluster.create()
        yield cluster
    finally:
        if (cluster.data / "postmaster.pid").exists():
            await cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def restart_app(private_postgres: PrivatePostgres, var_dir: Path) -> AsyncIterator[Litestar]:
    """The application on a migrated database in the private cluster, with generous public rate limits."""
    admin = await asyncpg.connect(private_postgres.dsn + "/postgres", timeout=10)
    try:
        await admin.execute("CREATE DATABASE referral")
    finally:
        await admin.close()
    url = private_postgres.dsn + "/referral"
    engine = create_database_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        await schema.upgrade(engine)
    finally:
        await engine.dispose()
    settings = load_settings(
        {"REFERRAL_DATABASE_URL": url, "REFERRAL_VAR_DIR": str(var_dir), "REFERRAL_BACKGROUND_JOBS": "false"}
    )
    clock = FakeClock(dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC))
    app = create_app(settings, domain_overrides={"complaints": complaints_test_config(clock)})
    yield app
    await app.state.engine.dispose()


@dataclass
class Load:
    """Public complaint submissions from several writers at once, and what came back."""

    client: httpx.AsyncClient
    acknowledged: list[str] = field(default_factory=list)  # the references of the 201s
    refused: list[int] = field(default_factory=list)  # the statuses of all other answers
    wrong: list[str] = field(default_factory=list)  # answers a client must never get
    done: asyncio.Event = field(default_factory=asyncio.Event)
    _waits: list[tuple[list[Any], int, asyncio.Event]] = field(default_factory=list)

    async def writer(self) -> None:
        while not self.done.is_set():
            self.record(await self.client.post(PUBLIC, json=anonymous_payload()))

    def record(self, response: httpx.Response) -> None:
        if response.status_code == 201:
            self.acknowledged.append(response.json()["reference"])
        else:
            self.refused.append(response.status_code)
            unavailable = (
                response.status_code == 503
                and response.json().get("code") == "service.unavailable"
                and response.headers.get("retry-after", "").isdigit()
            )
            if not (unavailable or response.status_code == 429):
                retry_after = response.headers.get("retry-after")
                self.wrong.append(f"{response.status_code} (Retry-After {retry_after}): {response.text}")
        for answers, count, event in self._waits:
            if len(answers) >= count:
                event.set()

    async def until(self, answers: list[Any], more: int) -> None:
        """Until `answers` (`acknowledged` or `refused`) has `more` further entries."""
        event = asyncio.Event()
        self._waits.append((answers, len(answers) + more, event))
        await event.wait()


async def _readiness(client: httpx.AsyncClient) -> tuple[int, str]:
    response = await client.get("/health/ready")
    body = response.json()
    return response.status_code, str(body.get("code") or body.get("status"))


@pytest.mark.slow
async def test_no_acknowledged_write_is_lost_when_postgres_restarts_under_load(
    restart_app: Litestar, private_postgres: PrivatePostgres
) -> None:
    # httpx's ASGI transport runs the application on this loop, so the writers' requests really overlap
    # (Litestar's test client would run one at a time, blocking this loop while each runs).
    transport = httpx.ASGITransport(app=restart_app)  # type: ignore[arg-type]  # ASGI typed narrower
    async with (
        restart_app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client,
    ):
        load = Load(client)
        writers = [asyncio.create_task(load.writer()) for _ in range(WRITERS)]
        try:
            async with asyncio.timeout(30):  # a hang fails the test instead of the run
                await load.until(load.acknowledged, WRITES_BEFORE)

                await private_postgres.stop()
                await load.until(load.refused, REFUSED_DURING_OUTAGE)
                during_outage = await _readiness(client)

                await private_postgres.start()
                after_start = await _readiness(client)
                first_write = await client.post(PUBLIC, json=anonymous_payload())
                load.record(first_write)
                await load.until(load.acknowledged, WRITES_AFTER)
        finally:
            load.done.set()
            await asyncio.gather(*writers)

    assert load.wrong == []
    assert 503 in load.refused
    assert during_outage == (503, "service.not_ready")
    assert after_start == (200, "ok")
    # The same application, never restarted, takes the first write after PostgreSQL is back.
    assert first_write.status_code == 201

    connection = await asyncpg.connect(private_postgres.dsn + "/referral", timeout=10)
    try:
        rows = await connection.fetch("SELECT reference, sequence FROM complaints")
    finally:
        await connection.close()
    stored = {row["reference"] for row in rows}
    assert set(load.acknowledged) - stored == set()  # not one acknowledged write lost
    assert len(load.acknowledged) == len(set(load.acknowledged))
    # A submission cut off by the stop gave its reference number back: the numbers still have no gaps.
    assert sorted(row["sequence"] for row in rows) == list(range(1, len(rows) + 1))
