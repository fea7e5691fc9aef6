"""Database engine, sessions and the per-request transaction, for SQLite and PostgreSQL.

SQLite (aiosqlite) is the embedded default: foreign keys on, WAL, and `BEGIN IMMEDIATE` so that two
writers queue for the database lock instead of failing half-way through a transaction. PostgreSQL
(asyncpg) is the production store, with a connection pool. Statement parameters are never rendered into
errors or logs (`hide_parameters`), because they carry ciphertext and blind indexes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator
from typing import Any

from litestar.datastructures import State
from sqlalchemy import DateTime, Dialect, MetaData, TypeDecorator, event
from sqlalchemy.engine.interfaces import DBAPIConnection, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.settings import Settings

# Constraint names must be deterministic so that migrations can drop and alter them on both engines.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata: MetaData = SQLModel.metadata
metadata.naming_convention = NAMING_CONVENTION

SessionFactory = async_sessionmaker[AsyncSession]
CONNECT_TIMEOUT_SECONDS = 10


def create_engine(settings: Settings) -> AsyncEngine:
    return create_database_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        echo=settings.db_echo,
    )


def create_database_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 10, echo: bool = False
) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url,
            echo=echo,
            hide_parameters=True,
            connect_args={"timeout": 30},
        )
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        # asyncpg waits 60 s by default for a host that does not answer (a node gone without a reset);
        # a multi-host URL tries the hosts one after the other, so each gets less.
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
    )
    _configure_postgres(engine)
    return engine


# A connection to a node that is no longer the primary answers "read-only transaction" (25006) to every
# write, and one that is shut down (57P01, 57P02) is gone: neither recovers, and the pings before checkout
# would let the first through (it still answers SELECT 1).
_STALE_CONNECTION_SQLSTATES = frozenset({"25006", "57P01", "57P02"})


def _configure_postgres(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        # Treated as a disconnect, the connection is discarded and every connection pooled before it
        # is replaced on its next checkout: after a failover they all lead to the old primary.
        if getattr(context.original_exception, "sqlstate", None) in _STALE_CONNECTION_SQLSTATES:
            context.is_disconnect = True


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions start (see _on_begin).
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes can fail with SQLITE_BUSY on the lock
        # upgrade, which busy_timeout cannot resolve; taking the write lock up front serialises writers.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def provide_db_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    """One transaction per request: committed when the handler returns, rolled back when it raises.

    Litestar runs this cleanup before the response is sent, so a failed commit becomes an error
    response instead of a success for data that was never stored.
    """
    factory: SessionFactory = state.session_factory
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both engines (SQLite would otherwise hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused; use timezone-aware UTC")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
