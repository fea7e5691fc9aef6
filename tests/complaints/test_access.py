"""The complainant's access with reference and access code: one answer for every wrong guess, throttling
shared by all instances, short sessions that open one complaint only, messages both ways."""

from __future__ import annotations

import dataclasses
import json

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

import complaints.access_codes as access_codes
from complaints.access_codes import ALPHABET, ENTROPY_BITS, new_access_code, normalise_access_code
from complaints.config import ComplaintsConfig
from referral_service.app import create_app
from referral_service.identity.config import IdentityConfig, ThrottlePolicy
from referral_service.identity.roles import Role
from referral_service.settings import Settings
from tests.complaints.support import (
    FREE_FAILURES_PER_ADDRESS,
    OFFICE,
    PUBLIC,
    Client,
    assigned_to_handler,
    audit_events,
    comparable,
    complainant_headers,
    submit,
    wrong,
)
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock

SESSION = f"{PUBLIC}/session"


def test_access_codes_are_long_random_and_forgiving_to_type() -> None:
    codes = {new_access_code() for _ in range(200)}
    assert len(codes) == 200
    assert ENTROPY_BITS >= 100
    for code in codes:
        groups = code.split("-")
        assert [len(group) for group in groups] == [4] * 6
        assert set("".join(groups)) <= set(ALPHABET)
    code = next(iter(codes))
    typed = " " + code.lower().replace("-", " ") + " "
    assert normalise_access_code(typed) == code.replace("-", "")
    assert normalise_access_code("O0I1L" + "2" * 19) == "00111" + "2" * 19
    assert normalise_access_code("too-short") is None
    assert normalise_access_code("U" * 24) is None  # not in Crockford's alphabet


async def test_wrong_code_unknown_and_malformed_reference_get_the_same_answer(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    receipt = await submit(client)
    hashed: list[str] = []
    original = access_codes._digest

    def spy(symbols: str, service_secret: bytes) -> str:
        hashed.append(symbols)
        return original(symbols, service_secret)

    monkeypatch.setattr(access_codes, "_digest", spy)
    attempts = {
        "wrong code": {"reference": receipt["reference"], "access_code": wrong(receipt["access_code"])},
        "unknown reference": {"reference": "BS-2026-000999", "access_code": receipt["access_code"]},
        "malformed reference": {"reference": "no reference", "access_code": receipt["access_code"]},
        "malformed code": {"reference": receipt["reference"], "access_code": "123"},
    }
    answers = {name: comparable(await client.post(SESSION, json=body)) for name, body in attempts.items()}
    assert len({repr(answer) for answer in answers.values()}) == 1, answers
    status, body = answers["wrong code"]
    assert status == 404
    assert body["code"] == "complaint.access_denied"
    # Every attempt cost exactly one keyed hash; an unknown reference is compared against a dummy.
    assert len(hashed) == 4


async def test_the_code_may_be_typed_in_lower_case_without_dashes(client: Client) -> None:
    receipt = await submit(client)
    typed = receipt["access_code"].lower().replace("-", " ")
    headers = await complainant_headers(client, receipt["reference"].lower().replace("000", "", 1), typed)
    me = await client.get(f"{PUBLIC}/me", headers=headers)
    assert me.json()["reference"] == receipt["reference"]


async def test_an_address_that_keeps_failing_is_locked_even_for_the_right_code(
    client: Client, complaints_clock: FakeClock
) -> None:
    receipt = await submit(client)
    other = await submit(client)
    bad = {"reference": receipt["reference"], "access_code": wrong(receipt["access_code"])}
    for _ in range(FREE_FAILURES_PER_ADDRESS):
        assert (await client.post(SESSION, json=bad)).status_code == 404
    locked_wrong = await client.post(SESSION, json=bad)
    locked_right = await client.post(
        SESSION, json={"reference": other["reference"], "access_code": other["access_code"]}
    )
    assert comparable(locked_wrong) == comparable(locked_right)
    assert locked_right.status_code == 429
    assert locked_right.json()["code"] == "complaint.access_throttled"
    assert locked_right.headers["retry-after"] == "60"

    complaints_clock.advance(seconds=61)
    await complainant_headers(client, other["reference"], other["access_code"])
    # The next failure doubles the lock.
    assert (await client.post(SESSION, json=bad)).status_code == 404
    assert (await client.post(SESSION, json=bad)).headers["retry-after"] == "120"


@pytest.fixture
def strict_config(complaints_config: ComplaintsConfig) -> ComplaintsConfig:
    return dataclasses.replace(complaints_config, client_throttle=ThrottlePolicy(free_failures=3))


async def test_one_client_address_is_throttled_across_references_and_instances(
    settings: Settings, identity_config: IdentityConfig, strict_config: ComplaintsConfig, engine: AsyncEngine
) -> None:
    # Two instances of the service on one database: the counts live in the database, not in memory.
    first = create_app(
        settings, identity_config=identity_config, domain_overrides={"complaints": strict_config}
    )
    second = create_app(
        settings, identity_config=identity_config, domain_overrides={"complaints": strict_config}
    )
    async with AsyncTestClient(app=first) as one, AsyncTestClient(app=second) as two:
        receipt = await submit(one)
        for number, instance in enumerate((one, two, one), start=1):
            guess = {"reference": f"BS-2026-{number + 100:06d}", "access_code": receipt["access_code"]}
            assert (await instance.post(SESSION, json=guess)).status_code == 404
        right = {"reference": receipt["reference"], "access_code": receipt["access_code"]}
        assert (await two.post(SESSION, json=right)).status_code == 429
    events = await audit_events(engine, "complaint:access:open")
    assert [json_reason(event.details) for event in events] == ["unknown_reference"] * 3 + ["throttled"]
    assert all(event.outcome == "failure" for event in events)


def json_reason(details: str) -> str:
    return str(json.loads(details)["reason"])


async def test_sessions_are_short_and_open_only_their_own_complaint(
    client: Client, auth_headers: AuthHeaders, complaints_clock: FakeClock
) -> None:
    first = await submit(client)
    second = await submit(client)
    first_headers = await complainant_headers(client, first["reference"], first["access_code"])
    second_headers = await complainant_headers(client, second["reference"], second["access_code"])
    assert (await client.get(f"{PUBLIC}/me", headers=first_headers)).json()["reference"] == first["reference"]
    assert (await client.get(f"{PUBLIC}/me", headers=second_headers)).json()["reference"] == second[
        "reference"
    ]

    for headers in (
        {},
        {"Authorization": "Bearer rsc_not-a-session"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        await auth_headers(Role.COMPLAINTS_LEAD),  # a staff token opens no complaint here
    ):
        response = await client.get(f"{PUBLIC}/me", headers=headers)
        assert (response.status_code, response.json()["code"]) == (404, "complaint.session_invalid")

    # Signing out ends the session at once.
    assert (await client.delete(SESSION, headers=second_headers)).status_code == 204
    ended = await client.get(f"{PUBLIC}/me", headers=second_headers)
    assert (ended.status_code, ended.json()["code"]) == (404, "complaint.session_invalid")

    complaints_clock.advance(minutes=31)
    expired = await client.get(f"{PUBLIC}/me/messages", headers=first_headers)
    assert (expired.status_code, expired.json()["code"]) == (404, "complaint.session_invalid")


async def test_messages_between_complainant_and_office(
    client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory
) -> None:
    receipt = await submit(client)
    citizen = await complainant_headers(client, receipt["reference"], receipt["access_code"])
    sent = await client.post(f"{PUBLIC}/me/messages", json={"body": "Gibt es Neuigkeiten?"}, headers=citizen)
    assert sent.status_code == 201
    assert sent.json()["author"] == "complainant"

    complaint = await assigned_to_handler(client, auth_headers, demo_directory, receipt["reference"])
    handler = await auth_headers("complaints.handler")
    note = {"body": "Zeugen noch nicht befragt", "visibility": "internal"}
    reply = {"body": "Wir prüfen Ihre Beschwerde noch.", "visibility": "complainant"}
    assert (
        await client.post(f"{OFFICE}/{complaint}/messages", json=note, headers=handler)
    ).status_code == 201
    assert (
        await client.post(f"{OFFICE}/{complaint}/messages", json=reply, headers=handler)
    ).status_code == 201

    office_view = (await client.get(f"{OFFICE}/{complaint}/messages", headers=handler)).json()
    assert [(m["visibility"], m["body"]) for m in office_view] == [
        ("complainant", "Gibt es Neuigkeiten?"),
        ("internal", "Zeugen noch nicht befragt"),
        ("complainant", "Wir prüfen Ihre Beschwerde noch."),
    ]
    own_view = (await client.get(f"{PUBLIC}/me/messages", headers=citizen)).json()
    assert [(m["author"], m["body"]) for m in own_view] == [
        ("complainant", "Gibt es Neuigkeiten?"),
        ("office", "Wir prüfen Ihre Beschwerde noch."),
    ]
    assert "Zeugen" not in str((await client.get(f"{PUBLIC}/me", headers=citizen)).json())

    # Once the complaint is finished, the complainant is pointed to a follow-up instead.
    await client.post(f"{OFFICE}/{complaint}/withdraw", headers=handler)
    late = await client.post(f"{PUBLIC}/me/messages", json={"body": "Noch etwas"}, headers=citizen)
    assert (late.status_code, late.json()["code"]) == (409, "complaint.invalid_transition")
    assert (await client.get(f"{PUBLIC}/me", headers=citizen)).json()["status"] == "withdrawn"
