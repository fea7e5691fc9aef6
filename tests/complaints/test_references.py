"""References: "BS-YYYY-NNNNNN", sequential per year, unique and gapless under concurrent submissions."""

from __future__ import annotations

import asyncio
import re

import pytest
from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from complaints import references
from complaints.domain import Category, Channel, ComplainantKind
from complaints.models import ComplaintReferenceCounter
from complaints.schemas import ComplaintCreate
from complaints.service import intake
from complaints.service.common import ComplaintContext
from referral_service.db import create_session_factory
from referral_service.keys.service import CaseKeys, load_key_provider
from referral_service.settings import Settings
from tests.complaints.support import PUBLIC, Client, anonymous_payload, complaints_test_config
from tests.concurrency import overlapping_client
from tests.identity.support import FakeClock

CONCURRENT = 20


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("BS-2026-000123", "BS-2026-000123"),
        (" bs-2026-123 ", "BS-2026-000123"),
        ("BS - 2026 - 000123", "BS-2026-000123"),
        ("BS-2027-1234567", "BS-2027-1234567"),
        ("BS-26-000123", None),
        ("AZ-2026-000123", None),
        ("BS-2026-", None),
        ("'; DROP TABLE complaints; --", None),
    ],
)
def test_references_are_normalised_or_refused(typed: str, canonical: str | None) -> None:
    assert references.normalise_reference(typed) == canonical


def test_reference_format() -> None:
    assert references.format_reference(2026, 1) == "BS-2026-000001"
    assert references.format_reference(2026, 1_000_000) == "BS-2026-1000000"


async def test_concurrent_submissions_through_the_service_get_unique_gapless_references(
    engine: AsyncEngine, settings: Settings, complaints_clock: FakeClock
) -> None:
    config = complaints_test_config(complaints_clock)
    keys = CaseKeys(lambda: load_key_provider(settings))
    factory = create_session_factory(engine)
    data = ComplaintCreate(
        complainant_kind=ComplainantKind.ANONYMOUS, category=Category.OTHER, description="gleichzeitig"
    )

    # One submission that fails after taking its number gives it back.
    async with factory() as session:
        await references.allocate(session, 2026)
        await session.rollback()

    async def one() -> str:
        async with factory() as session:
            ctx = ComplaintContext(
                session=session,
                principal=None,
                config=config,
                keys=keys,
                secret=settings.secret_key,
                audit={"request_id": None, "client_hash": None},
            )
            submitted = await intake.submit(ctx, data, channel=Channel.WEB)
            await session.commit()
            return submitted.complaint.reference

    got = await asyncio.gather(*(one() for _ in range(CONCURRENT)))
    assert sorted(got) == [f"BS-2026-{n:06d}" for n in range(1, CONCURRENT + 1)]
    async with factory() as session:
        counter = (await session.execute(select(ComplaintReferenceCounter))).scalars().all()
    assert [(row.year, row.last_value) for row in counter] == [(2026, CONCURRENT)]


async def test_concurrent_submissions_through_the_api_get_unique_references(app: Litestar) -> None:
    async with overlapping_client(app) as client:
        responses = await asyncio.gather(
            *(client.post(PUBLIC, json=anonymous_payload()) for _ in range(CONCURRENT))
        )
    assert [response.status_code for response in responses] == [201] * CONCURRENT
    got = {response.json()["reference"] for response in responses}
    assert len(got) == CONCURRENT
    assert all(re.fullmatch(r"BS-2026-\d{6}", reference) for reference in got)
    codes = {response.json()["access_code"] for response in responses}
    assert len(codes) == CONCURRENT


async def test_the_sequence_restarts_each_year(client: Client, complaints_clock: FakeClock) -> None:
    first = (await client.post(PUBLIC, json=anonymous_payload())).json()["reference"]
    # 31 December, 23:30 UTC is already New Year's Day in Dresden.
    complaints_clock.current = complaints_clock.current.replace(
        year=2026, month=12, day=31, hour=23, minute=30
    )
    second = (await client.post(PUBLIC, json=anonymous_payload(incident_date=None))).json()["reference"]
    assert (first, second) == ("BS-2026-000001", "BS-2027-000001")
