"""`/health/live` says the process answers; `/health/ready` says it can serve: database reachable and its
schema at the migration head this code expects or newer (an instance must not serve a half-migrated
or older database; `schema.serves`),
and not shutting down (`draining`)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.datastructures import State
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from referral_service import schema
from referral_service.health.draining import is_draining
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
        if is_draining():
            # Shutting down: a load balancer takes the instance out while it still serves (draining.py).
            raise ServiceNotReadyError("The instance is shutting down.")
        engine = state.engine
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            current = await schema.current_revision(engine)
        except (SQLAlchemyError, OSError):
            raise ServiceNotReadyError("The database cannot be reached.") from None
        if not schema.serves(current):
            raise ServiceNotReadyError("The database schema is older than this code expects.")
        return {"status": "ok", "database": engine.dialect.name, "revision": current}
