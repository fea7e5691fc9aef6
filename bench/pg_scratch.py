"""A scratch PostgreSQL database for a benchmark, migrated to head and dropped afterwards."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from referral_service import schema
from referral_service.db import create_database_engine, create_session_factory
from referral_service.identity.config import IdentityConfig, PasswordHashing
from referral_service.identity.demo import seed_demo
from referral_service.settings import Settings, load_settings

ADMIN_DSN = os.environ.get("REFERRAL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@asynccontextmanager
async def scratch_database(prefix: str) -> AsyncIterator[tuple[str, str]]:
    """Yield (SQLAlchemy URL, asyncpg DSN) of a fresh migrated database."""
    name = f"rs_bench_{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = ADMIN_DSN.rpartition("/")[0]
    url = base.replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + name
    engine = create_database_engine(url)
    try:
        await schema.upgrade(engine)
    finally:
        await engine.dispose()
    try:
        yield url, base + "/" + name
    finally:
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def demo_database(prefix: str) -> AsyncIterator[Settings]:
    """Production-like settings on a scratch database holding the demo organisation and logins (hashed
    cheaply for the seed; the first sign-in re-hashes at production cost)."""
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(prefix) as (url, _dsn):
            settings = load_settings(
                {
                    "REFERRAL_DATABASE_URL": url,
                    "REFERRAL_VAR_DIR": str(Path(tmp) / "var"),
                    "REFERRAL_LOG_LEVEL": "WARNING",
                    "REFERRAL_BACKGROUND_JOBS": "false",
                }
            )
            engine = create_database_engine(url)
            try:
                cheap = IdentityConfig(
                    password_hashing=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1)
                )
                async with create_session_factory(engine)() as session, session.begin():
                    await seed_demo(session, config=cheap, secret=settings.secret_key)
            finally:
                await engine.dispose()
            yield settings
