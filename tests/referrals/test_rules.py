"""Consent, bad input, invalid transitions and exactly-once acceptance, on both engines."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.db import create_database_engine, create_session_factory
from referral_service.keys.service import CaseKeys, load_key_provider
from referral_service.referrals.errors import InvalidTransitionError
from referral_service.referrals.models import Referral
from referral_service.referrals.policy import ReferralPolicy
from referral_service.referrals.service import workflow
from referral_service.referrals.service.common import ReferralContext
from referral_service.settings import Settings
from tests.concurrency import overlapping_client
from tests.identity.support import AuthHeaders, DemoDirectory
from tests.referrals.support import referral_payload, submit


async def _count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


def _without_consent() -> dict[str, Any]:
    payload = referral_payload()
    del payload["consent"]
    return payload


def _consent(**changes: Any) -> dict[str, Any]:
    payload = referral_payload()
    payload["consent"].update(changes)
    return payload


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (_without_consent(), "request.validation"),
        (_consent(scope="transfer_to_anyone"), "request.validation"),
        (_consent(form="telepathic"), "request.validation"),
        (_consent(given_by=None), "request.validation"),
        (
            _consent(given_at=(dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()),
            "referral.consent_invalid",
        ),
        (
            _consent(given_at=(dt.datetime.now(dt.UTC) - dt.timedelta(days=90)).isoformat()),
            "referral.consent_invalid",
        ),
        (_consent(given_at="2026-11-20T10:00:00"), "referral.consent_invalid"),
        (referral_payload(offence_category="jaywalking"), "request.validation"),
        (referral_payload(incident_date="2099-01"), "request.validation"),
        (referral_payload(incident_date="2026-13"), "request.validation"),
        (referral_payload(postcode="0109"), "request.validation"),
        (referral_payload(circumstances="x" * 10_001), "request.validation"),
        (referral_payload(circumstances=""), "request.validation"),
        (referral_payload(phone="call me maybe"), "request.validation"),
        (referral_payload(unexpected_field=1), "request.validation"),
        (referral_payload(requested_support="personal_support"), "request.validation"),
    ],
)
async def test_invalid_referrals_are_refused_with_422_and_nothing_is_stored(
    client: AsyncTestClient[Litestar],
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    engine: AsyncEngine,
    payload: dict[str, Any],
    code: str,
) -> None:
    response = await client.post(
        "/api/v1/referrals", json=payload, headers=await auth_headers("officer.dresden")
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert await _count(engine, "referrals") == 0
    assert await _count(engine, "data_keys") == 0


async def test_malformed_json_is_400(client: AsyncTestClient[Litestar], auth_headers: AuthHeaders) -> None:
    response = await client.post(
        "/api/v1/referrals",
        content=b'{"victim": ',
        headers={**await auth_headers("officer.dresden"), "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "request.malformed"


async def test_invalid_transitions_are_409_with_a_stable_code(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory
) -> None:
    volunteer = await auth_headers("volunteer.dresden")
    created = await submit(client, auth_headers)
    rid = created["id"]
    closing_early = await client.post(
        f"/api/v1/referrals/{rid}/close",
        json={"outcome": "unreachable"},
        headers=await auth_headers("branchlead.dresden"),
    )
    assert closing_early.status_code == 409
    assert closing_early.json()["code"] == "referral.invalid_transition"
    assert (await client.post(f"/api/v1/referrals/{rid}/accept", headers=volunteer)).status_code == 200
    again = await client.post(f"/api/v1/referrals/{rid}/accept", headers=volunteer)
    assert again.status_code == 409
    assert again.json()["code"] == "referral.invalid_transition"
    supported_without_contact = await client.post(
        f"/api/v1/referrals/{rid}/close",
        json={"outcome": "supported", "support_given": ["personal_support"]},
        headers=volunteer,
    )
    assert supported_without_contact.status_code == 409
    await client.post(f"/api/v1/referrals/{rid}/first-contact", json={"channel": "visit"}, headers=volunteer)
    no_support = await client.post(
        f"/api/v1/referrals/{rid}/close", json={"outcome": "supported"}, headers=volunteer
    )
    assert no_support.status_code == 422
    assert no_support.json()["code"] == "referral.support_required"
    correction = await client.patch(
        f"/api/v1/referrals/{rid}", json={"urgency": "normal"}, headers=await auth_headers("officer.dresden")
    )
    # The station still knows the referral (feedback), but may no longer change it.
    assert correction.status_code == 409
    assert correction.json()["code"] == "referral.invalid_transition"


async def test_police_correct_a_referral_before_acceptance(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory
) -> None:
    officer = await auth_headers("officer.dresden")
    created = await submit(client, auth_headers, postcode="01099")
    moved = await client.patch(
        f"/api/v1/referrals/{created['id']}",
        json={"victim": {"postcode": "04109", "phone": "0341 1234567"}, "urgency": "normal"},
        headers=officer,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["branch_id"] == str(routed.unit("wr-leipzig").id)
    assert moved.json()["urgency"] == "normal"
    detail = (await client.get(f"/api/v1/referrals/{created['id']}", headers=officer)).json()
    assert detail["victim"]["postcode"] == "04109"
    assert detail["victim"]["phone"] == "0341 1234567"


async def test_fifty_concurrent_accepts_exactly_one_succeeds(
    database_url: str,
    settings: Settings,
    client: AsyncTestClient[Litestar],
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
) -> None:
    """50 transactions on their own connections race to accept one referral."""
    created = await submit(client, auth_headers)
    volunteer = routed.account("volunteer.dresden")
    engine = create_database_engine(database_url, pool_size=50, max_overflow=0)
    keys = CaseKeys(lambda: load_key_provider(settings))
    from referral_service.identity.permissions import ROLE_GRANTS
    from referral_service.identity.principal import AuthMethod, Principal
    from referral_service.identity.roles import Role, UnitKind

    principal = Principal(
        user_id=volunteer.user_id,
        username=volunteer.username,
        unit_id=volunteer.unit.id,
        unit_path=volunteer.unit.path,
        unit_kind=UnitKind.WR_BRANCH,
        roles=frozenset({Role.WR_VOLUNTEER}),
        permissions=ROLE_GRANTS[Role.WR_VOLUNTEER],
        auth_method=AuthMethod.TOKEN,
    )
    start, all_waiting = asyncio.Event(), asyncio.Event()
    waiting = 0

    async def attempt() -> str:
        nonlocal waiting
        async with create_session_factory(engine)() as session:
            waiting += 1
            if waiting == 50:
                all_waiting.set()
            await start.wait()
            try:
                async with session.begin():
                    ctx = ReferralContext(session, principal, keys, ReferralPolicy(), {})
                    await workflow.accept(ctx, __import__("uuid").UUID(created["id"]))
            except InvalidTransitionError:
                return "conflict"
            return "accepted"

    try:
        tasks = [asyncio.create_task(attempt()) for _ in range(50)]
        await all_waiting.wait()
        start.set()
        outcomes = await asyncio.gather(*tasks)
        assert outcomes.count("accepted") == 1
        assert outcomes.count("conflict") == 49
        async with engine.connect() as connection:
            transitions = (
                await connection.execute(
                    text("SELECT count(*) FROM referral_transitions WHERE action = 'accept'")
                )
            ).scalar_one()
            assert transitions == 1
            status = (await connection.execute(select(Referral.status))).scalar_one()
            assert status == "accepted"
            assert (await connection.execute(select(func.count()).select_from(Referral))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_fifty_concurrent_accepts_over_http(
    app: Litestar, auth_headers: AuthHeaders, routed: DemoDirectory
) -> None:
    headers = await auth_headers("volunteer.dresden")
    async with overlapping_client(app) as client:
        created = await submit(client, auth_headers)
        accept = f"/api/v1/referrals/{created['id']}/accept"
        responses = await asyncio.gather(*(client.post(accept, headers=headers) for _ in range(50)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(200) == 1
    assert statuses.count(409) == 49
