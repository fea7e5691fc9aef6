"""Shared helpers of the complaint tests: payloads with recognisable personal values, API shortcuts."""

from __future__ import annotations

import dataclasses
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col
from sqlmodel import select as sqlmodel_select
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.config import ComplaintsConfig
from referral_service.audit.models import AuditEvent
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock

Client = AsyncTestClient[Litestar]

PUBLIC = "/api/v1/public/complaints"
OFFICE = "/api/v1/complaints"
STATEMENTS = "/api/v1/statement-requests"

# Recognisable values: tests check they appear nowhere they must not (tables, audit, logs, police units).
NAME = "Wiebke Ørsted-Kallweit"
EMAIL = "wiebke.kallweit@example.org"
PHONE = "+49 351 5557788"
ADDRESS = "Bautzner Landstraße 213, 01324 Dresden"
DESCRIPTION = "Beim Einsatz am Albertplatz wurde ich grundlos geschubst und beleidigt"
PLACE = "Albertplatz, Haltestelle Richtung Neustadt"
QUESTION = "Bitte nehmen Sie zum Einsatz vom 20.11. Stellung."
FACTS = "Einsatz am 20.11., gegen 22 Uhr, zwei Beamte, Vorwurf unhöflichen Verhaltens"
ANSWER = "Die Beamten haben den Platz geräumt; ein Schubsen wird bestritten."
REPLY = "Ihre Beschwerde ist teilweise begründet; das Gespräch mit den Beamten wurde geführt."
SECRET_VALUES = (NAME, EMAIL, PHONE, ADDRESS, DESCRIPTION, PLACE, "5557788", "Kallweit")
# Wrong access codes one client address may send before it is locked out for a while.
FREE_FAILURES_PER_ADDRESS = ComplaintsConfig().client_throttle.free_failures


def complaints_test_config(clock: FakeClock, **overrides: Any) -> ComplaintsConfig:
    base = ComplaintsConfig(
        clock=clock.now,
        intake_rate_limit=("minute", 10_000),
        access_rate_limit=("minute", 10_000),
    )
    return dataclasses.replace(base, **overrides)


complaints_test_config.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def anonymous_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "complainant_kind": "anonymous",
        "category": "conduct_on_duty",
        "description": DESCRIPTION,
        "incident_date": "2026-11-20",
        "place": PLACE,
    }
    payload.update(overrides)
    return payload


def named_payload(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "complainant_kind": "citizen",
        "name": NAME,
        "email": EMAIL,
        "phone": PHONE,
        "address": ADDRESS,
    }
    values.update(overrides)
    return anonymous_payload(**values)


async def submit(client: Client, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await client.post(PUBLIC, json=payload or anonymous_payload())
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def complainant_headers(client: Client, reference: str, code: str) -> dict[str, str]:
    response = await client.post(f"{PUBLIC}/session", json={"reference": reference, "access_code": code})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def complaint_id(client: Client, auth_headers: AuthHeaders, reference: str) -> str:
    """The id of a complaint, looked up by the lead (who sees all)."""
    listed = await client.get(
        OFFICE, headers=await auth_headers("complaints.lead"), params={"reference": reference}
    )
    assert listed.status_code == 200, listed.text
    [found] = listed.json()
    return str(found["id"])


async def assigned_to_handler(
    client: Client, auth_headers: AuthHeaders, directory: DemoDirectory, reference: str
) -> str:
    """Assign the complaint to the demo handler; returns its id."""
    found = await complaint_id(client, auth_headers, reference)
    handler = directory.account("complaints.handler").user_id
    response = await client.post(
        f"{OFFICE}/{found}/assign",
        json={"assignee_id": str(handler)},
        headers=await auth_headers("complaints.lead"),
    )
    assert response.status_code == 200, response.text
    return found


async def count_rows(engine: AsyncEngine, *tables: str) -> dict[str, int]:
    from referral_service.db import metadata

    counts: dict[str, int] = {}
    async with engine.connect() as connection:
        for table in tables:
            counts[table] = int(
                (
                    await connection.execute(select(func.count()).select_from(metadata.tables[table]))
                ).scalar_one()
            )
    return counts


async def audit_events(engine: AsyncEngine, prefix: str = "complaint:") -> list[AuditEvent]:
    async with AsyncSession(engine) as session:
        stmt = (
            sqlmodel_select(AuditEvent)
            .where(col(AuditEvent.action).startswith(prefix))
            .order_by(col(AuditEvent.id))
        )
        return list((await session.exec(stmt)).all())


def problem(response: Any) -> tuple[int, str]:
    """Status and stable code of a problem-details answer."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return response.status_code, str(response.json()["code"])


def comparable(response: Any) -> tuple[int, dict[str, Any]]:
    """Status and body of an answer, without what differs between any two requests."""
    body = {key: value for key, value in response.json().items() if key != "request_id"}
    return response.status_code, body


def wrong(code: str) -> str:
    """The same access code with its first symbol changed."""
    first = "2" if code[0] != "2" else "3"
    return first + code[1:]
