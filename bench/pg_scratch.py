"""A scratch PostgreSQL database for a benchmark, migrated to head and dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from referral_service import schema
from referral_service.db import create_database_engine

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
