"""A database that cannot be reached (PostgreSQL restarting, a SQLite file that cannot be opened) answers
503 with Retry-After on API routes and pages, and readiness says not ready; wrong SQL stays a 500.

The shared PostgreSQL is never stopped: the unreachable one is a closed port on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from asyncpg.exceptions import TargetServerAttributeNotMatched
from litestar import Litestar, post
from litestar.di import NamedDependency
from litestar.testing import AsyncTestClient
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.app import create_app
from referral_service.identity.tokens import SESSION_COOKIE
from referral_service.problems import database_unavailable
from referral_service.settings import Settings, load_settings

PROBLEM = "application/problem+json"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends: nothing listens there


@pytest.fixture(params=["postgresql", "sqlite"])
async def unreachable(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Litestar]:
    """An application whose database cannot be reached."""
    if request.param == "postgresql":
        url = f"postgresql://referral:secret@127.0.0.1:{_closed_port()}/referral"
    else:
        url = f"sqlite:///{tmp_path / 'no-such-directory' / 'db.sqlite3'}"
    settings = load_settings(
        {
            "REFERRAL_DATABASE_URL": url,
            "REFERRAL_VAR_DIR": str(tmp_path / "var"),
            "REFERRAL_BACKGROUND_JOBS": "false",
        }
    )
    app = create_app(settings)
    yield app
    await app.state.engine.dispose()


async def test_an_api_request_answers_503_with_retry_after(unreachable: Litestar) -> None:
    async with AsyncTestClient(app=unreachable) as client:
        # The guard looks the token up in the database.
        response = await client.get("/api/v1/users", headers={"Authorization": "Bearer some-token"})
    assert response.status_code == 503
    assert response.headers["content-type"].startswith(PROBLEM)
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["code"] == "service.unavailable"
    assert body["request_id"] == response.headers["x-request-id"]


async def test_a_page_answers_503_with_retry_after(unreachable: Litestar) -> None:
    async with AsyncTestClient(app=unreachable, base_url="https://testserver.local") as client:
        client.cookies.set(SESSION_COOKIE, "some-session")  # the guard looks the session up
        response = await client.get("/", headers={"Accept": "text/html"})
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert int(response.headers["retry-after"]) > 0
    assert "vorübergehend nicht verfügbar" in response.text


async def test_readiness_says_not_ready(unreachable: Litestar) -> None:
    async with AsyncTestClient(app=unreachable) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["code"] == "service.not_ready"


@post("/test/wrong-sql", opt={"public": True})
async def wrong_sql(db_session: NamedDependency[AsyncSession]) -> None:
    await db_session.execute(text("SELECT * FROM no_such_table"))


async def test_wrong_sql_on_a_reachable_database_stays_a_500(settings: Settings) -> None:
    app = create_app(settings)
    app.register(wrong_sql)
    async with AsyncTestClient(app=app) as client:
        response = await client.post("/test/wrong-sql")
    await app.state.engine.dispose()
    body: dict[str, Any] = response.json()
    assert (response.status_code, body["code"]) == (500, "internal")
    assert "retry-after" not in response.headers


@post("/test/demote", opt={"public": True}, status_code=204)
async def demote(db_session: NamedDependency[AsyncSession]) -> None:
    # From the next transaction on, this pooled connection refuses writes as one to a node does that a
    # failover has turned into a standby.
    await db_session.execute(text("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"))


@post("/test/write", opt={"public": True}, status_code=204)
async def write(db_session: NamedDependency[AsyncSession]) -> None:
    await db_session.execute(text("DELETE FROM referrals WHERE false"))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no standby
async def test_a_connection_to_a_former_primary_answers_503_once_and_is_replaced(settings: Settings) -> None:
    app = create_app(settings)
    app.register(demote)
    app.register(write)
    async with AsyncTestClient(app=app) as client:
        assert (await client.post("/test/demote")).status_code == 204
        refused = await client.post("/test/write")
        again = await client.post("/test/write")
    await app.state.engine.dispose()
    assert (refused.status_code, refused.json()["code"]) == (503, "service.unavailable")
    assert int(refused.headers["retry-after"]) > 0
    # The pool dropped the connection instead of handing it out again: the next write is served.
    assert again.status_code == 204, again.text


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__("driver message")
        self.sqlstate = sqlstate


def _no_primary() -> Exception:
    """What SQLAlchemy hands on when asyncpg found no host of a multi-host URL to be the primary."""
    error = _DriverError("")
    error.__cause__ = TargetServerAttributeNotMatched("None of the hosts match the target attribute")
    return error


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (sa_exc.OperationalError("SELECT 1", None, Exception(), connection_invalidated=True), True),
        (sa_exc.DBAPIError("SELECT 1", None, _DriverError("57P01")), True),  # admin shutdown (restart)
        (sa_exc.DBAPIError(None, None, _DriverError("57P03")), True),  # still starting up
        (sa_exc.DBAPIError("SELECT 1", None, _DriverError("08006")), True),  # connection failure
        (sa_exc.InternalError("INSERT", None, _DriverError("25006")), True),  # read-only: a standby now
        (sa_exc.InternalError(None, None, _no_primary()), True),  # a multi-host URL found no primary
        (sa_exc.TimeoutError(), True),  # the pool had no free connection in time
        (sa_exc.IntegrityError(None, None, _DriverError("23503")), False),  # deferred check at commit
        (sa_exc.ProgrammingError("SELEKT", None, _DriverError("42601")), False),
        (FileNotFoundError("var/keyring.json"), False),  # not raised by a database driver
        (RuntimeError("bug"), False),
    ],
)
def test_only_unreachability_counts_as_unavailable(error: Exception, unavailable: bool) -> None:
    assert database_unavailable(error) is unavailable
