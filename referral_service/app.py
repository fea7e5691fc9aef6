"""The application factory: `create_app(settings) -> Litestar`. The only module that imports every domain."""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from referral_service.db import create_engine, create_session_factory, provide_db_session
from referral_service.health.controllers import HealthController
from referral_service.logging import configure_logging, get_logger
from referral_service.problems import EXCEPTION_HANDLERS
from referral_service.request_context import request_context_middleware
from referral_service.settings import Settings

log = get_logger(__name__)

API_VERSION = "1"


def create_app(settings: Settings) -> Litestar:
    configure_logging(settings)
    engine = create_engine(settings)
    state = State(
        {
            "settings": settings,
            "engine": engine,
            "session_factory": create_session_factory(engine),
        }
    )

    async def dispose_engine() -> None:
        await engine.dispose()

    return Litestar(
        route_handlers=[HealthController],
        state=state,
        dependencies={"db_session": Provide(provide_db_session)},
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[request_context_middleware],
        on_shutdown=[dispose_engine],
        request_max_body_size=settings.max_request_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Referral and complaints service",
            version=API_VERSION,
            path="/schema",
            render_plugins=[JsonRenderPlugin()],
        ),
        debug=False,
    )
