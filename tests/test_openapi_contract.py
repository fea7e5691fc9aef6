"""The OpenAPI document is the contract clients and the fuzzer (`tests/contract/fuzz.py`) hold us to:
every refusal a route can give is documented as a problem document, responses match their schemas,
request types say that they refuse unknown fields, and OPTIONS lists what the document lists."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.identity.roles import Role
from tests.identity.support import AuthHeaders, DemoDirectory
from tests.reporting.support import insert
from tests.reporting.test_cooperation_report import second_quarter_2025

Client = AsyncTestClient[Litestar]
METHODS = ("get", "put", "post", "patch", "delete")
PROBLEM = {"$ref": "#/components/schemas/Problem"}
SAMPLE = {"seq": "1", "role": "admin", "id": "00000000-0000-4000-8000-000000000000"}


async def document(client: Client) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def validator(doc: dict[str, Any], component: str) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator({**doc, "$ref": f"#/components/schemas/{component}"})


async def test_every_operation_documents_the_problems_it_can_answer(client: Client) -> None:
    doc = await document(client)
    missing = []
    for method, path, operation in operations(doc):
        responses = operation["responses"]
        expected = {"503"}
        protected = "/public/" not in path and not path.startswith(("/health", "/api/v1/auth/login"))
        # The provider's back-channel logout carries its own credential (the signed logout token).
        protected = protected and not path.endswith("/backchannel-logout")
        if protected and path != "/api/v1/auth/token":
            expected |= {"401", "403"}
        if "{" in path:
            expected.add("404")
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            expected |= {"400", "413", "415", "422"}
        if any(parameter["in"] == "query" for parameter in operation.get("parameters", [])):
            expected.add("422")
        missing += [f"{method} {path} {status}" for status in sorted(expected - set(responses))]
        for status, response in responses.items():
            headers = response.get("headers", {})
            assert "x-request-id" in headers, f"{method} {path} {status}: no request id header"
            if int(status) >= 400:
                assert response["content"] == {"application/problem+json": {"schema": PROBLEM}}
            if status in ("429", "503"):
                assert headers["Retry-After"]["required"] is True
    assert missing == []


async def test_throttled_and_public_session_routes_document_their_own_answers(client: Client) -> None:
    doc = await document(client)
    assert {"401", "429"} <= set(doc["paths"]["/api/v1/auth/token"]["post"]["responses"])
    assert {"404", "429"} <= set(doc["paths"]["/api/v1/public/complaints/me"]["get"]["responses"])
    # A body naming another object (the new user's unit) can name one that does not exist.
    assert "404" in doc["paths"]["/api/v1/users"]["post"]["responses"]


async def test_request_bodies_refuse_unknown_fields(client: Client) -> None:
    doc = await document(client)
    schemas = doc["components"]["schemas"]
    open_bodies = []
    for method, path, operation in operations(doc):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None:
            continue
        name = body["schema"]["$ref"].rsplit("/", 1)[1]
        if schemas[name].get("additionalProperties") is not False:
            open_bodies.append(f"{method} {path} ({name})")
    assert open_bodies == []
    # Nested request types too.
    assert schemas["Victim"]["additionalProperties"] is False


async def test_the_consent_time_rule_is_documented_with_a_valid_example(client: Client) -> None:
    given_at = (await document(client))["components"]["schemas"]["Consent"]["properties"]["given_at"]
    assert "not in the future" in given_at["description"]
    assert len(given_at["examples"]) == 1


async def test_a_real_report_matches_its_documented_schema(
    client: Client, auth_headers: AuthHeaders, engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    await insert(engine, second_quarter_2025(demo_directory))
    doc = await document(client)
    report = await client.get(
        "/api/v1/reports/cooperation",
        params={"year": 2025, "quarter": 2},
        headers=await auth_headers(Role.WR_STATE_OFFICE),
    )
    assert report.status_code == 200, report.text
    values = [v for table in report.json()["tables"] for row in table["rows"] for v in row["values"].values()]
    assert any(isinstance(v, int) for v in values)
    assert any(v is None for v in values)  # suppressed cells
    schema = doc["paths"]["/api/v1/reports/cooperation"]["get"]["responses"]["200"]
    name = schema["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    errors = [error.message for error in validator(doc, name).iter_errors(report.json())]
    assert errors == []


async def test_problems_match_the_documented_problem_schema(
    client: Client, auth_headers: AuthHeaders
) -> None:
    doc = await document(client)
    problem = validator(doc, "Problem")
    headers = await auth_headers(Role.POLICE_OFFICER)
    answers = [
        await client.get("/api/v1/referrals", params={"limit": "many"}, headers=headers),
        await client.post("/api/v1/referrals", json={"victim": 1}, headers=headers),
        await client.get("/api/v1/referrals"),
    ]
    assert [answer.status_code for answer in answers] == [422, 422, 401]
    for answer in answers:
        assert [error.message for error in problem.iter_errors(answer.json())] == []
    # A query parameter's error names its code like a body field's.
    assert answers[0].json()["errors"] == [
        {"field": "limit", "code": "value.invalid", "message": answers[0].json()["errors"][0]["message"]}
    ]


async def test_options_lists_every_documented_method(client: Client) -> None:
    doc = await document(client)
    wrong = {}
    for path, item in doc["paths"].items():
        concrete = re.sub(r"\{(seq|role)\}", lambda m: SAMPLE[m.group(1)], path)
        concrete = re.sub(r"\{[a-z_]+\}", SAMPLE["id"], concrete)
        response = await client.options(concrete)
        allowed = {m.strip() for m in response.headers.get("allow", "").split(",")}
        documented = {method.upper() for method in item if method in METHODS}
        if not documented <= allowed:
            wrong[path] = sorted(documented - allowed)
    assert wrong == {}


async def test_a_nul_byte_in_an_audit_filter_is_refused_not_a_server_error(
    client: Client, auth_headers: AuthHeaders
) -> None:
    # Found by the fuzzer: PostgreSQL refuses NUL in text, which surfaced as a 500.
    response = await client.get(
        "/api/v1/audit/events", params={"action": "identity:\x00"}, headers=await auth_headers(Role.AUDITOR)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "action"


async def test_a_report_is_documented_as_json_and_csv(client: Client) -> None:
    success = (await document(client))["paths"]["/api/v1/reports/cooperation"]["get"]["responses"]["200"]
    assert set(success["content"]) == {
        "application/json",
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
