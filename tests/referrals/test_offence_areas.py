"""Offence areas as WEISSER RING and the PKS group them: the API, migration 0014 and the report's shares."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service import schema
from referral_service.referrals.models import Referral
from referral_service.referrals.reports import cooperation_report
from referral_service.reporting.periods import period_of
from referral_service.reporting.scope import resolve_scope
from tests.identity.support import AuthHeaders, DemoDirectory
from tests.referrals.support import referral_payload, submit
from tests.reporting.support import at, insert, referral

API = "/api/v1/referrals"
NOT_SELECTABLE = [("offence_category", "referral.offence_not_selectable")]


def _errors(response: Any) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "request.validation"
    return [(error["field"], error["code"]) for error in response.json()["errors"]]


async def test_the_api_takes_the_new_areas_and_refuses_the_old_and_the_legacy_one(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory, engine: AsyncEngine
) -> None:
    officer = await auth_headers("officer.dresden")
    created = await submit(client, auth_headers, offence_category="rape_sexual_assault")
    assert created["offence_category"] == "rape_sexual_assault"

    # The old code is gone from the enum; the legacy area describes old referrals only.
    old = await client.post(API, json=referral_payload(offence_category="sexual_offence"), headers=officer)
    assert [field for field, _ in _errors(old)] == ["offence_category"]
    legacy = referral_payload(offence_category="sexual_offence_unspecified")
    assert _errors(await client.post(API, json=legacy, headers=officer)) == NOT_SELECTABLE
    async with engine.connect() as connection:
        assert len((await connection.execute(select(Referral.id))).all()) == 1  # nothing else stored

    path = f"{API}/{created['id']}"
    patch = await client.patch(path, json={"offence_category": "sexual_offence_unspecified"}, headers=officer)
    assert _errors(patch) == NOT_SELECTABLE
    assert (await client.get(path, headers=officer)).json()["offence_category"] == "rape_sexual_assault"
    corrected = await client.patch(path, json={"offence_category": "child_sexual_abuse"}, headers=officer)
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["offence_category"] == "child_sexual_abuse"

    # Every stored area can be filtered on, the legacy one included.
    listed = await client.get(API, params={"offence_category": "child_sexual_abuse"}, headers=officer)
    assert [row["id"] for row in listed.json()] == [created["id"]]
    legacy_list = await client.get(
        API, params={"offence_category": "sexual_offence_unspecified"}, headers=officer
    )
    assert legacy_list.status_code == 200
    assert legacy_list.json() == []


async def _codes(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(Referral.reference, Referral.offence_category))
        return {str(reference): str(code) for reference, code in rows.all()}


async def test_migration_0014_recodes_without_losing_or_inventing(
    engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    codes = [
        "child_sexual_abuse",
        "rape_sexual_assault",
        "other_sexual_offence",
        "domestic_violence",
        "robbery",
    ]
    rows = [
        referral(
            demo_directory, station="rev-dresden-nord", submitted_at=at("2025-05-02T10:00:00"), category=c
        )
        for c in codes
    ]
    await insert(engine, rows)
    by_code = {row.offence_category: row.reference for row in rows}

    await schema.downgrade(engine, "0013")
    before = await _codes(engine)
    assert before == {
        **{by_code[c]: "sexual_offence" for c in codes[:3]},
        by_code["domestic_violence"]: "domestic_violence",
        by_code["robbery"]: "robbery",
    }

    # At 0013 the rows hold the old codes; the upgrade keeps every row and guesses no split.
    await schema.upgrade(engine)
    assert await _codes(engine) == {
        **{by_code[c]: "sexual_offence_unspecified" for c in codes[:3]},
        by_code["domestic_violence"]: "domestic_violence",
        by_code["robbery"]: "robbery",
    }


async def test_the_report_counts_each_area_with_its_share(
    engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    submitted = at("2025-04-10T08:00:00")
    counts = {
        "child_sexual_abuse": 10,
        "domestic_violence": 8,
        "sexual_offence_unspecified": 6,
        "rape_sexual_assault": 2,
    }
    await insert(
        engine,
        [
            referral(
                demo_directory,
                station="rev-dresden-nord",
                submitted_at=submitted + dt.timedelta(hours=i),
                category=category,
            )
            for category, n in counts.items()
            for i in range(n)
        ],
    )
    async with AsyncSession(engine) as session:
        scope = await resolve_scope(session, None)
        report = await cooperation_report(
            session,
            period_of(2025, 2),
            scope,
            now=at("2026-01-05T12:00:00"),
            contact_within=dt.timedelta(hours=72),
        )
    table = report.table("referrals_by_offence")
    rows = {row.key: row for row in table.rows}
    assert [column.key for column in table.columns] == ["count", "share"]
    assert rows["child_sexual_abuse"].label == "sexueller Missbrauch von Kindern"
    assert rows["sexual_offence_unspecified"].label == "Sexualdelikt, nicht näher bestimmt"
    assert rows["total"].values == {"count": 26, "share": 1.0}
    assert rows["child_sexual_abuse"].values == {"count": 10, "share": 0.3846}
    assert rows["fraud"].values == {"count": 0, "share": 0.0}
    # Two cases are withheld, and so is their share (it would give the count back).
    assert rows["rape_sexual_assault"].values == {"count": None, "share": None}
    for row in table.rows:
        count, share = row.values["count"], row.values["share"]
        assert (share is None) if count is None else share == round(int(count) / 26, 4), row.key
    # The same counts as the column totals of the table by unit: one protection for both.
    by_unit = {row.key: row for row in report.table("referrals_by_unit").rows}["total"].values
    assert all(by_unit[key] == row.values["count"] for key, row in rows.items())
