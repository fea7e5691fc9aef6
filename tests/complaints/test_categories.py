"""Several content categories per complaint, exactly one of them primary: entered by the office, changed
in the triage, kept by the migration that introduced them; on both engines."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service import schema
from referral_service.db import create_database_engine
from tests.complaints.support import OFFICE, Client, count_rows, named_payload, submit
from tests.identity.support import AuthHeaders, DemoDirectory
from tests.reporting.support import at, complaint, insert

_mentions = sa.table(
    "complaint_categories",
    sa.column("complaint_id", sa.Uuid()),
    sa.column("category", sa.String()),
    sa.column("is_primary", sa.Boolean()),
)


async def mentions(engine: AsyncEngine) -> dict[uuid.UUID, list[tuple[str, bool]]]:
    """{complaint id: [(category, primary), ...]}, the primary first."""
    found: dict[uuid.UUID, list[tuple[str, bool]]] = {}
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(_mentions).order_by(_mentions.c.is_primary.desc(), _mentions.c.category)
        )
        for complaint_id, category, primary in rows:
            found.setdefault(complaint_id, []).append((category, bool(primary)))
    return found


async def test_the_office_records_further_categories_and_the_triage_changes_them(
    client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, engine: AsyncEngine
) -> None:
    handler = await auth_headers("complaints.handler")
    entered = await client.post(
        OFFICE,
        json=named_payload(
            channel="fax",
            category="criminal_prosecution",
            # A repeat and the primary itself are no further mentions.
            further_categories=["conduct_on_duty", "criminal_prosecution", "conduct_on_duty"],
        ),
        headers=handler,
    )
    assert entered.status_code == 201, entered.text
    [complaint_id] = [
        row["id"] for row in (await client.get(OFFICE, headers=handler)).json() if row["channel"] == "fax"
    ]
    shown = (await client.get(f"{OFFICE}/{complaint_id}", headers=handler)).json()
    assert (shown["category"], shown["further_categories"]) == ("criminal_prosecution", ["conduct_on_duty"])
    stored = uuid.UUID(complaint_id)
    assert (await mentions(engine))[stored] == [("criminal_prosecution", True), ("conduct_on_duty", False)]

    # Refused whole: an unknown code, and more mentions than there are categories.
    for wrong in (["rudeness"], ["other"] * 7):
        refused = await client.post(
            f"{OFFICE}/{complaint_id}/triage", json={"further_categories": wrong}, headers=handler
        )
        assert refused.status_code == 422, refused.text
    assert (await mentions(engine))[stored] == [("criminal_prosecution", True), ("conduct_on_duty", False)]

    # A further category becomes the primary: the old primary is dropped, not kept as a further one.
    moved = await client.post(
        f"{OFFICE}/{complaint_id}/triage",
        json={"category": "conduct_on_duty", "complete": False},
        headers=handler,
    )
    assert moved.status_code == 200, moved.text
    listed = (await client.get(OFFICE, headers=handler, params={"category": "conduct_on_duty"})).json()
    assert [row["id"] for row in listed] == [complaint_id]
    assert (await mentions(engine))[stored] == [("conduct_on_duty", True)]

    replaced = await client.post(
        f"{OFFICE}/{complaint_id}/triage",
        json={"further_categories": ["traffic_policing", "other"]},
        headers=handler,
    )
    assert replaced.status_code == 200, replaced.text
    shown = (await client.get(f"{OFFICE}/{complaint_id}", headers=handler)).json()
    assert (shown["category"], shown["further_categories"]) == (
        "conduct_on_duty",
        ["other", "traffic_policing"],
    )
    assert (await mentions(engine))[stored] == [
        ("conduct_on_duty", True),
        ("other", False),
        ("traffic_policing", False),
    ]

    # The public form names one area; further ones are the office's to add.
    public = await client.post("/api/v1/public/complaints", json=named_payload(further_categories=["other"]))
    assert public.status_code == 422, public.text
    receipt = await submit(client)
    assert receipt["reference"]
    every = await mentions(engine)
    assert len(every) == 2
    assert all(sum(primary for _, primary in rows) == 1 for rows in every.values())


async def test_the_migration_keeps_each_complaints_category_as_its_primary(empty_database_url: str) -> None:
    engine = create_database_engine(empty_database_url)
    try:
        await schema.upgrade(engine, "0012")
        rows = [
            complaint(received_at=at("2025-03-01T08:00:00"), category="traffic_policing"),
            complaint(received_at=at("2025-04-01T08:00:00"), category="other"),
        ]
        await insert(engine, rows)
        await schema.upgrade(engine, "0013")
        assert await mentions(engine) == {
            rows[0].id: [("traffic_policing", True)],
            rows[1].id: [("other", True)],
        }
        await schema.downgrade(engine, "0012")
        assert (await count_rows(engine, "complaints"))["complaints"] == 2
        await schema.upgrade(engine)
    finally:
        await engine.dispose()
