"""`/health/live` says the process answers; `/health/ready` says it can serve: database reachable and its
schema at the migration head this code expects (an instance must not serve a half-migrated database)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.datastructures import State
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from referral_service import schema
from referral_service.problems import ServiceNotReadyError

PUBLIC = {"public": True}


class HealthController(Controller):
    path = "/health"
    tags = ["health"]
    opt = PUBLIC

    @get("/live", summary="Liveness probe")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", summary="Readiness probe: database reachable and migrated")
    async def ready(self, state: State) -> dict[str, Any]:
        engine = state.engine
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            current = await schema.current_revision(engine)
        except (SQLAlchemyError, OSError):
            raise ServiceNotReadyError("The database cannot be reached.") from None
        expected = schema.head_revision()
        if current != expected:
            raise ServiceNotReadyError("The database schema is not at the expected migration.")
        return {"status": "ok", "database": engine.dialect.name, "revision": current}
