"""The auditor API: search, checkpoints, inclusion proofs; auditors only, and itself audited."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.audit.merkle import verify_inclusion
from referral_service.audit.service import create_checkpoint
from referral_service.identity.roles import Role
from tests.audit.test_log import write_events
from tests.identity.support import AuthHeaders


async def test_auditor_searches_events_and_reading_is_audited(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, auth_headers: AuthHeaders
) -> None:
    await write_events(engine, 5)
    headers = await auth_headers(Role.AUDITOR)
    reads = {"action": "referral:referral:read", "limit": 2}
    response = await client.get("/api/v1/audit/events", params=reads, headers=headers)
    assert response.status_code == 200, response.text
    page = response.json()
    # Newest first; the next page is named in the Link header, with the filters and a cursor.
    assert [event["target_id"] for event in page["events"]] == ["r-4", "r-3"]
    assert page["events"][0]["details"] == {"fields": ["victim_name", "phone"]}
    assert page["next_after_id"] is None
    seen = [event["target_id"] for event in page["events"]]
    while "link" in response.headers:
        link = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers["link"])
        assert link is not None
        assert "action=referral%3Areferral%3Aread" in link.group(1)
        response = await client.get(link.group(1), headers=headers)
        assert response.status_code == 200, response.text
        seen += [event["target_id"] for event in response.json()["events"]]
    assert seen == ["r-4", "r-3", "r-2", "r-1", "r-0"]
    # The earlier paging, kept for its clients: oldest first after an id.
    old = (await client.get("/api/v1/audit/events", params={**reads, "after_id": 0}, headers=headers)).json()
    assert [event["target_id"] for event in old["events"]] == ["r-0", "r-1"]
    rest = await client.get(
        "/api/v1/audit/events", params={**reads, "after_id": old["next_after_id"]}, headers=headers
    )
    assert [event["target_id"] for event in rest.json()["events"]] == ["r-2", "r-3"]
    async with engine.connect() as connection:
        reads_recorded = (
            await connection.execute(
                text("SELECT count(*) FROM audit_events WHERE action = 'audit:event:read'")
            )
        ).scalar_one()
    assert reads_recorded == 5


async def test_checkpoints_and_inclusion_proof(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, app: Litestar, auth_headers: AuthHeaders
) -> None:
    await write_events(engine, 12)
    await create_checkpoint(engine, app.state.audit_keys)
    headers = await auth_headers(Role.AUDITOR)
    listing = (await client.get("/api/v1/audit/checkpoints", headers=headers)).json()
    assert listing["verifier_key"].startswith("referral-service-audit+")
    size = listing["checkpoints"][-1]["tree_size"]
    assert size >= 12
    proof = (await client.get("/api/v1/audit/events/7/proof", headers=headers)).json()
    assert proof["tree_size"] == size
    assert verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        7,
        size,
        [bytes.fromhex(node) for node in proof["proof"]],
        bytes.fromhex(listing["checkpoints"][-1]["root_hash"]),
    )
    missing = await client.get(f"/api/v1/audit/events/{size + 5}/proof", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "audit.proof_unavailable"


async def test_only_auditors_read_the_log(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders
) -> None:
    for role in (Role.ADMIN, Role.WR_VOLUNTEER, Role.COMPLAINTS_LEAD, Role.POLICE_SUPERVISOR):
        response = await client.get("/api/v1/audit/events", headers=await auth_headers(role))
        assert response.status_code == 403, role
    assert (await client.get("/api/v1/audit/events")).status_code == 401
