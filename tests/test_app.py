"""HTTP behaviour every route shares: problem details, request ids, one transaction per request."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar import Litestar, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from crypto import KeyDestroyedError
from referral_service.app import create_app
from referral_service.keys.models import DataKeyRecord
from referral_service.problems import DomainError, ErrorKind
from referral_service.settings import Settings
from tests.conftest import Applications
from tests.media_types import NOT_DECLARED_JSON

PROBLEM = "application/problem+json"
# Something a handler might carry; it must never reach a client or a log line.
SEEDED_SECRET = "Erika Mustermann, Hauptstr. 5, 01067 Dresden"


class Probe(msgspec.Struct):
    name: str
    count: int


class ProbeRefused(DomainError):
    code = "probe.refused"
    kind = ErrorKind.CONFLICT
    title = "Refused on purpose"


@post("/test/probe", opt={"public": True})
async def probe(data: JSONBody[Probe]) -> dict[str, Any]:
    return {"name": data.name, "count": data.count}


@post("/api/test/probe", opt={"public": True})
async def api_probe(data: JSONBody[Probe]) -> dict[str, Any]:
    return {"name": data.name, "count": data.count}


@post("/test/crash", opt={"public": True})
async def crash() -> None:
    raise RuntimeError(SEEDED_SECRET)


@post("/test/erased", opt={"public": True})
async def erased() -> None:
    raise KeyDestroyedError("data key 0000 has been destroyed")


@post("/test/write/{outcome:str}", opt={"public": True})
async def write(outcome: FromPath[str], db_session: NamedDependency[AsyncSession]) -> dict[str, str]:
    record = DataKeyRecord(id=uuid.uuid4(), case_kind="probe")
    db_session.add(record)
    await db_session.flush()
    if outcome == "fail":
        raise ProbeRefused()
    if outcome == "crash":
        raise RuntimeError(SEEDED_SECRET)
    return {"id": str(record.id)}


@pytest.fixture
async def app(settings: Settings, applications: Applications) -> AsyncIterator[Litestar]:
    built = applications.get(settings, extra_handlers=(probe, api_probe, crash, erased, write))
    yield built
    await applications.release(built)


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(code)
    assert "Traceback" not in response.text
    return body


async def test_live_and_ready(client: AsyncTestClient[Litestar]) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"


async def test_ready_is_503_on_an_unmigrated_database(empty_database_url: str, tmp_path: Any) -> None:
    from referral_service.settings import load_settings

    settings = load_settings({"REFERRAL_DATABASE_URL": empty_database_url, "REFERRAL_VAR_DIR": str(tmp_path)})
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/health/ready")
    assert_problem(response, 503, "service.not_ready")


@pytest.mark.parametrize(
    ("revision", "status"),
    [("older", 503), ("f00dfeedbeef", 200)],
    ids=["older schema: not ready", "newer release migrated ahead: ready"],
)
async def test_ready_serves_its_own_or_a_newer_schema_never_an_older_one(
    settings: Any, revision: str, status: int
) -> None:
    """During a rolling upgrade the old instances stay ready after the new release's migration ran;
    an instance never serves a schema older than its code."""
    app = create_app(settings)
    engine = app.state.engine
    async with engine.begin() as connection:
        if revision == "older":
            head = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
            revision = _older_than(head)
        await connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    # Its connections belong to this test's event loop; the client runs the app on another.
    await engine.dispose()
    try:
        async with AsyncTestClient(app=app) as client:
            response = await client.get("/health/ready")
    finally:
        await engine.dispose()
    assert response.status_code == status
    if status == 503:
        assert_problem(response, 503, "service.not_ready")


def _older_than(revision: str) -> str:
    from alembic.script import ScriptDirectory

    from referral_service.schema import alembic_config

    script = ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    assert script is not None
    assert isinstance(script.down_revision, str)
    return script.down_revision


async def test_openapi_schema_is_served(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    assert "/health/ready" in response.json()["paths"]


async def test_unknown_route_is_404_problem(client: AsyncTestClient[Litestar]) -> None:
    body = assert_problem(await client.get("/no/such/route"), 404, "route.not_found")
    assert body["instance"] == "/no/such/route"


async def test_wrong_method_is_405_problem(client: AsyncTestClient[Litestar]) -> None:
    assert_problem(await client.delete("/health/live"), 405, "request.method_not_allowed")


async def test_malformed_json_is_400_problem(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post(
        "/test/probe", content=b'{"name": "x", ', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "request.malformed")


async def test_validation_error_is_422_problem_naming_the_fields(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post("/test/probe", json={"name": "x", "count": "many"})
    body = assert_problem(response, 422, "request.validation")
    assert [error["field"] for error in body["errors"]] == ["count"]


async def test_missing_field_is_422_problem(client: AsyncTestClient[Litestar]) -> None:
    assert_problem(await client.post("/test/probe", json={"name": "x"}), 422, "request.validation")


async def test_oversized_body_is_413_problem(client: AsyncTestClient[Litestar], settings: Settings) -> None:
    response = await client.post(
        "/test/probe",
        content=b"x" * (settings.max_request_body_bytes + 1),
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 413, "request.too_large")


async def test_valid_request_passes(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post("/test/probe", json={"name": "x", "count": 2})
    assert response.status_code == 201
    assert response.json() == {"name": "x", "count": 2}


async def test_internal_error_is_500_without_internals_and_logged_with_request_id(
    client: AsyncTestClient[Litestar], capsys: pytest.CaptureFixture[str]
) -> None:
    response = await client.post("/test/crash")
    body = assert_problem(response, 500, "internal")
    assert SEEDED_SECRET not in response.text
    assert "RuntimeError" not in response.text
    request_id = response.headers["x-request-id"]
    assert body["request_id"] == request_id
    logged = capsys.readouterr().err
    failure_lines = [line for line in logged.splitlines() if "request.failed" in line]
    assert failure_lines, logged
    assert request_id in failure_lines[0]
    assert "RuntimeError" in failure_lines[0]
    assert SEEDED_SECRET not in logged


async def test_every_response_has_a_request_id_and_a_valid_incoming_one_is_kept(
    client: AsyncTestClient[Litestar],
) -> None:
    generated = await client.get("/health/live")
    assert len(generated.headers["x-request-id"]) == 32
    kept = await client.get("/health/live", headers={"x-request-id": "lb-0123456789"})
    assert kept.headers["x-request-id"] == "lb-0123456789"
    replaced = await client.get("/health/live", headers={"x-request-id": "bad id with spaces"})
    assert replaced.headers["x-request-id"] != "bad id with spaces"


async def _count_records(engine: AsyncEngine) -> int:
    # The test client runs the app on its own event loop; read through the test's own engine.
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(DataKeyRecord))).scalar_one())


async def test_transaction_is_committed_on_success(
    client: AsyncTestClient[Litestar], engine: AsyncEngine
) -> None:
    assert (await client.post("/test/write/ok")).status_code == 201
    assert await _count_records(engine) == 1


@pytest.mark.parametrize(("outcome", "status"), [("fail", 409), ("crash", 500)])
async def test_transaction_is_rolled_back_on_error(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, outcome: str, status: int
) -> None:
    response = await client.post(f"/test/write/{outcome}")
    assert response.status_code == status
    assert await _count_records(engine) == 0


async def test_reading_a_shredded_case_is_410_not_500(client: AsyncTestClient[Litestar]) -> None:
    body = assert_problem(await client.post("/test/erased"), 410, "case.erased")
    assert "0000" not in json.dumps(body)


def _nested(depth: int) -> bytes:
    return b'{"name": "x", "count": 1, "extra": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("path", ["/test/probe", "/api/test/probe"])
@pytest.mark.parametrize("depth", [1_000, 100_000])
async def test_json_nested_too_deeply_is_400_problem(
    client: AsyncTestClient[Litestar], path: str, depth: int
) -> None:
    response = await client.post(path, content=_nested(depth), headers={"content-type": "application/json"})
    body = assert_problem(response, 400, "request.malformed")
    assert body["request_id"] == response.headers["x-request-id"]


async def test_json_nested_within_the_limit_is_read_as_usual(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post(
        "/test/probe", content=_nested(500), headers={"content-type": "application/json"}
    )
    assert response.status_code == 201  # the probe ignores fields it does not know


_VALID = b'{"name": "x", "count": 2}'


@NOT_DECLARED_JSON
async def test_api_json_route_refuses_a_body_not_declared_json_with_415(
    client: AsyncTestClient[Litestar], headers: dict[str, str]
) -> None:
    # A cross-site HTML form can send the first three without the browser asking the service first.
    response = await client.post("/api/test/probe", content=_VALID, headers=headers)
    body = assert_problem(response, 415, "request.unsupported_media_type")
    assert body["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/vnd.probe+json"]
)
async def test_api_json_route_accepts_json_media_types(
    client: AsyncTestClient[Litestar], content_type: str
) -> None:
    response = await client.post("/api/test/probe", content=_VALID, headers={"content-type": content_type})
    assert response.status_code == 201
    assert response.json() == {"name": "x", "count": 2}


async def test_404_405_and_415_carry_the_request_id_and_log_their_status(
    client: AsyncTestClient[Litestar], capsys: pytest.CaptureFixture[str]
) -> None:
    answers = [
        (await client.get("/no/such/route"), 404),
        (await client.get("/api/v1/no/such/route"), 404),
        (await client.delete("/health/live"), 405),
        (await client.post("/api/test/probe", content=_VALID, headers={"content-type": "text/plain"}), 415),
    ]
    logged = capsys.readouterr().err.splitlines()
    for response, status in answers:
        assert response.status_code == status
        request_id = response.headers["x-request-id"]
        assert response.json()["request_id"] == request_id
        completed = [line for line in logged if "request.completed" in line and request_id in line]
        assert len(completed) == 1, (status, logged)
        assert f"status={status}" in completed[0]
