"""Scan everything a database stores for values that must only ever be stored encrypted."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine


async def stored_bytes(engine: AsyncEngine) -> bytes:
    """Every value of every table (and, on SQLite, the database files themselves), as one byte string."""
    chunks: list[bytes] = []
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        for table in tables:
            for row in (await connection.execute(text(f'SELECT * FROM "{table}"'))).all():
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        chunks.append(bytes(value))
                    elif value is not None:
                        chunks.append(str(value).encode())
    if engine.dialect.name == "sqlite" and engine.url.database:
        for suffix in ("", "-wal"):
            path = Path(engine.url.database + suffix)
            if path.exists():
                chunks.append(path.read_bytes())
    return b"\x00".join(chunks)


async def assert_nowhere_stored(engine: AsyncEngine, *values: str) -> None:
    stored = await stored_bytes(engine)
    for value in values:
        for form in {value, value.lower(), value.upper()}:
            assert form.encode() not in stored, f"plaintext stored: {form[:3]}…"
