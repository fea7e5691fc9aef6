"""Alembic environment. `referral_service.schema` hands in an open connection; see that module."""

from __future__ import annotations

from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlmodel.sql.sqltypes import AutoString

from migrations.models import target_metadata
from referral_service.db import UTCDateTime

config = context.config


def _render_item(kind: str, item: Any, _context: AutogenContext) -> str | bool:
    # Migrations must not import application types: render our column types as plain SQLAlchemy ones.
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if kind == "type" and isinstance(item, AutoString):
        return f"sa.String(length={item.length})" if item.length else "sa.String()"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode recreates the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=False,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; use `referral-service migrate`")

_connection = config.attributes.get("connection")
if _connection is None:
    raise SystemExit("run migrations through `referral-service migrate`, which supplies the connection")
_run(_connection)
