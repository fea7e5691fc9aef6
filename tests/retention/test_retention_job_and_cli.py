"""The daily background job and `referral-service retention run|erase`, with the configured periods."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path

from click.testing import CliRunner
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.app import retention_job
from referral_service.cli import main
from referral_service.db import create_database_engine, utcnow
from referral_service.domains import retention_providers
from referral_service.keys.fields import seal
from referral_service.keys.service import CaseKeys, load_key_provider
from referral_service.referrals.models import Referral
from referral_service.retention.policy import RETENTION_INTERVAL_SECONDS
from referral_service.settings import Settings, load_settings
from tests.identity.support import DemoDirectory, FakeClock, seed_demo_directory, test_identity_config
from tests.plaintext_scan import assert_nowhere_stored
from tests.reporting.support import referral

NAME = "Tilmann Vergessen-Rau"
PHONE = "+49 341 5554433"


async def sealed_referral(
    engine: AsyncEngine, keys: CaseKeys, directory: DemoDirectory, *, closed_days_ago: int | None
) -> uuid.UUID:
    """A referral with encrypted personal data, closed `closed_days_ago` days ago (None: still open)."""
    now = utcnow()
    submitted = now - dt.timedelta(days=(closed_days_ago or 0) + 10)
    row = referral(
        directory,
        station="rev-leipzig-zentrum",
        submitted_at=submitted,
        accepted_after=dt.timedelta(hours=3),
        contact_after=dt.timedelta(hours=20),
        closed_with="supported" if closed_days_ago is not None else None,
        support_given="personal_support" if closed_days_ago is not None else "",
    )
    if closed_days_ago is not None:
        row.closed_at = now - dt.timedelta(days=closed_days_ago)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        key = await keys.create(session, "referral")
        seal(row, key, victim_name=NAME, phone=PHONE, circumstances="Trickbetrug an der Haustür")
        row.phone_index = keys.blind_index.index_phone(PHONE)
        session.add(row)
        await session.commit()
    return row.id


async def test_the_background_job_erases_what_is_due(
    engine: AsyncEngine, app: Litestar, settings: Settings, demo_directory: DemoDirectory
) -> None:
    keys: CaseKeys = app.state.case_keys
    due = await sealed_referral(engine, keys, demo_directory, closed_days_ago=400)
    recent = await sealed_referral(engine, keys, demo_directory, closed_days_ago=100)
    job = retention_job(engine, keys, retention_providers(settings))
    assert (job.name, job.interval_seconds) == ("retention", RETENTION_INTERVAL_SECONDS)
    await job.run()
    async with AsyncSession(engine) as session:
        erased = await session.get(Referral, due)
        kept = await session.get(Referral, recent)
        assert erased is not None
        assert kept is not None
        assert erased.victim_name is None
        assert kept.victim_name is not None


def test_retention_run_and_erase_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    env = {
        "REFERRAL_DATABASE_URL": database_url,
        "REFERRAL_VAR_DIR": str(tmp_path / "var"),
        "REFERRAL_RETENTION_REFERRAL_DAYS": "30",
    }
    settings = load_settings(env)
    settings.var_dir.mkdir(parents=True, exist_ok=True)

    async def seed() -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
        engine = create_database_engine(database_url)
        try:
            directory = await seed_demo_directory(
                engine, test_identity_config(FakeClock()), settings.secret_key
            )
            keys = CaseKeys(lambda: load_key_provider(settings))
            return (
                await sealed_referral(engine, keys, directory, closed_days_ago=40),
                await sealed_referral(engine, keys, directory, closed_days_ago=5),
                await sealed_referral(engine, keys, directory, closed_days_ago=None),
            )
        finally:
            await engine.dispose()

    old, recent, still_open = asyncio.run(seed())
    runner = CliRunner()
    first = runner.invoke(main, ["retention", "run"], env=env)
    assert first.exit_code == 0, first.output
    assert "1 referral cases erased" in first.output
    assert "0 complaint cases erased" in first.output
    second = runner.invoke(main, ["retention", "run"], env=env)
    assert "0 referral cases erased" in second.output

    # The data subject of the recent case asks for erasure. The operator is asked first, with the
    # consequence; "no" leaves the case as it is.
    declined = runner.invoke(main, ["retention", "erase", "referral", str(recent)], env=env, input="n\n")
    assert declined.exit_code == 1
    assert "can never be read again" in declined.output
    assert "Aborted" in declined.output
    assert "key destroyed" not in declined.output
    erased = runner.invoke(main, ["retention", "erase", "referral", str(recent)], env=env, input="y\n")
    assert erased.exit_code == 0, erased.output
    assert "key destroyed" in erased.output
    refused = runner.invoke(main, ["retention", "erase", "referral", str(still_open), "--yes"], env=env)
    assert refused.exit_code == 1
    assert "still open" in refused.output
    unknown = runner.invoke(main, ["retention", "erase", "complaint", str(uuid.uuid4()), "--yes"], env=env)
    assert unknown.exit_code == 1
    assert "no complaint with id" in unknown.output

    async def check() -> None:
        engine = create_database_engine(database_url)
        try:
            async with AsyncSession(engine) as session:
                for case_id, gone in ((old, True), (recent, True), (still_open, False)):
                    row = await session.get(Referral, case_id)
                    assert row is not None
                    assert (row.victim_name is None) is gone
            # The open case still holds its (encrypted) data; the erased ones nothing readable.
            await assert_nowhere_stored(engine, NAME, PHONE)
        finally:
            await engine.dispose()

    asyncio.run(check())
