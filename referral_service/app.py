"""The application factory: `create_app(settings) -> Litestar`.

The kernel's routes, pages and jobs, plus whatever each installed domain declares
(`referral_service.domains`); this module names no domain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from litestar import Litestar, Request, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from opentelemetry.sdk.trace.export import SpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.audit.keys import AuditKeys, load_audit_keys
from referral_service.audit.service import create_checkpoint, sequence_pending
from referral_service.db import create_engine, create_session_factory, provide_db_session, utcnow
from referral_service.domains import (
    AppContext,
    domain_reports,
    domain_settings,
    installed_domains,
    retention_providers,
    template_folders,
)
from referral_service.health.controllers import HealthController
from referral_service.identity.config import IdentityConfig
from referral_service.identity.controllers import IDENTITY_CONTROLLERS
from referral_service.identity.guards import authorize, check_route_declarations
from referral_service.identity.http import PUBLIC, provide_principal
from referral_service.identity.oidc.config import OidcConfig, load_oidc_config
from referral_service.identity.oidc.metadata import ProviderDirectory
from referral_service.identity.throttle import purge_stale
from referral_service.jobs import JobRunner, PeriodicJob
from referral_service.keys.service import CaseKeys, load_key_provider
from referral_service.leadership import take_leadership
from referral_service.logging import configure_logging, get_logger
from referral_service.metrics.gauges import KERNEL_GAUGES
from referral_service.metrics.requests import request_metrics
from referral_service.metrics.server import METRICS_STATE
from referral_service.metrics.state import MetricsState
from referral_service.metrics.tracing import traced, tracer_provider
from referral_service.notifications.config import NotificationConfig
from referral_service.notifications.controllers import NotificationAdminController
from referral_service.notifications.delivery import SEND_INTERVAL_SECONDS, Delivery, send_due
from referral_service.notifications.smtp import mailer_for
from referral_service.openapi import ContractRenderPlugin, repair_allow_headers
from referral_service.problems import EXCEPTION_HANDLERS
from referral_service.reporting.controllers import ActivityController
from referral_service.reporting.http import report_handler
from referral_service.reporting.service import report_threshold
from referral_service.request_context import request_context_middleware
from referral_service.retention.policy import RETENTION_INTERVAL_SECONDS
from referral_service.retention.providers import RetentionProvider
from referral_service.retention.runner import run_retention
from referral_service.settings import Settings
from referral_service.stores import store_registry
from referral_service.validation import SafeJsonRequest, check_request_body
from referral_service.web import (
    WEB_AREAS,
    Area,
    security_headers_middleware,
    template_config,
    web_route_handlers,
)
from referral_service.web.audit_api import AuditController
from referral_service.web.errors import NOT_FOUND_HANDLERS
from referral_service.web.i18n import catalogue
from referral_service.web.notifications import KINDS_STATE, installed_notification_kinds
from referral_service.web.notifications_api import NotificationController
from referral_service.web.work import load_work

log = get_logger(__name__)

API_VERSION = "1"


def kernel_jobs(
    settings: Settings, engine: AsyncEngine, audit_keys: AuditKeys, identity_config: IdentityConfig
) -> list[PeriodicJob]:
    async def purge_login_throttle() -> int:
        # Every typed username leaves a throttle row; forget them once their failures no longer count.
        forget_after = max(
            identity_config.account_throttle.forget_after, identity_config.client_throttle.forget_after
        )
        async with create_session_factory(engine)() as session, session.begin():
            if not await take_leadership(session, "login-throttle-purge"):
                return 0
            return await purge_stale(session, identity_config.now(), forget_after)

    return [
        PeriodicJob("login-throttle-purge", 3600, purge_login_throttle),
        PeriodicJob(
            "audit-sequencer",
            settings.audit_sequence_interval_seconds,
            lambda: sequence_pending(engine, audit_keys),
        ),
        PeriodicJob(
            "audit-checkpoint",
            settings.audit_checkpoint_interval_seconds,
            lambda: create_checkpoint(engine, audit_keys),
        ),
    ]


def retention_job(
    engine: AsyncEngine, case_keys: CaseKeys, providers: Sequence[RetentionProvider]
) -> PeriodicJob:
    """Daily in every instance; leadership per batch keeps two instances from erasing at once."""
    return PeriodicJob(
        "retention",
        RETENTION_INTERVAL_SECONDS,
        lambda: run_retention(engine, case_keys, providers, now=utcnow()),
    )


def notification_delivery(settings: Settings, engine: AsyncEngine, case_keys: CaseKeys) -> Delivery:
    """The e-mail sender of this application (or command): its SMTP server, or in development the
    maildir (logged), every installed domain's kinds, and the catalogues for the texts. Raises
    `SettingsError` for a bad REFERRAL_SMTP_* / REFERRAL_NOTIFY_* variable or, in production, none."""
    config = NotificationConfig.from_settings(settings)
    domains = installed_domains()
    return Delivery(
        engine=engine,
        case_keys=case_keys,
        config=config,
        mailer=mailer_for(config),
        catalogue=catalogue,
        kinds=installed_notification_kinds(),
        complainant_addresses={
            kind.code: domain.contact_address
            for domain in domains
            if domain.contact_address is not None
            for kind in domain.notifications
            if kind.to_complainant
        },
    )


def notification_job(delivery: Delivery) -> PeriodicJob:
    """Every few seconds in every instance; leadership per claim keeps two from sending one e-mail."""
    return PeriodicJob("notifications-send", SEND_INTERVAL_SECONDS, lambda: send_due(delivery, now=utcnow()))


async def before_handler(request: Request[Any, Any, Any]) -> None:
    """Before every handler: the request body's checks, then the counts of work a signed-in user's page
    shows in its navigation (referral_service/web/work.py)."""
    await check_request_body(request)
    await load_work(request)


def create_app(
    settings: Settings,
    *,
    identity_config: IdentityConfig | None = None,
    oidc_config: OidcConfig | None = None,
    domain_overrides: Mapping[str, object] | None = None,
    span_exporter: SpanExporter | None = None,
) -> Litestar:
    """Build the application. `domain_overrides`: a domain's settings object by domain name, instead of
    the one read from the environment. `span_exporter`: where traces go (tests), instead of OTLP as the
    OTEL_* variables say. `oidc_config`: the OpenID providers, instead of REFERRAL_OIDC_PROVIDERS_FILE.
    Raises `SettingsError` for a bad domain or provider variable and `RouteDeclarationError` if any route
    declares no access rule."""
    configure_logging(settings)
    domains = installed_domains()
    configured = domain_settings(settings, domain_overrides)
    reports = domain_reports(settings, configured)
    # A bad small-cell threshold refuses the start, not the first report made.
    for report in reports:
        report_threshold(settings.environ, report.kind)
    engine = create_engine(settings)
    audit_keys = load_audit_keys(settings)
    case_keys = CaseKeys(lambda: load_key_provider(settings))
    identity_config = identity_config or IdentityConfig()
    oidc_config = oidc_config if oidc_config is not None else load_oidc_config(settings.environ)
    delivery = notification_delivery(settings, engine, case_keys)
    context = AppContext(settings=settings, engine=engine)
    parts = [domain.build(context, configured[domain.name]) for domain in domains]
    # The gauges for the metrics port (`serve` opens it), refreshed by a job of their own.
    gauges = [gauge for domain in domains for gauge in domain.gauges(configured[domain.name])]
    metrics = MetricsState([*KERNEL_GAUGES, *gauges]) if settings.metrics_port is not None else None
    jobs = [
        *kernel_jobs(settings, engine, audit_keys, identity_config),
        *(job for part in parts for job in part.jobs),
        retention_job(engine, case_keys, retention_providers(settings, configured)),
        notification_job(delivery),
        *([metrics.refresh_job(engine)] if metrics is not None else []),
    ]
    runner = JobRunner(
        ([metrics.observed(job) for job in jobs] if metrics is not None else jobs)
        if settings.background_jobs
        else [],
        instance=settings.instance_id,
        max_interval_seconds=settings.job_interval_max_seconds,
    )
    # Working areas of the web pages, per role; the start page sends each user to theirs.
    web_areas: list[Area] = [*(area for part in parts for area in part.areas), *WEB_AREAS]
    state = State(
        {
            "settings": settings,
            "engine": engine,
            "session_factory": create_session_factory(engine),
            "audit_keys": audit_keys,
            "case_keys": case_keys,
            "identity": identity_config,
            # The OpenID providers people may sign in with, and their discovery documents and keys.
            "oidc": oidc_config,
            "oidc_directory": ProviderDirectory(),
            "web_areas": web_areas,
            "domain_settings": configured,
            # Every installed domain's kinds of notification (the user's list and settings).
            KINDS_STATE: installed_notification_kinds(),
            "notification_delivery": delivery,
            METRICS_STATE: metrics,
            **{name: value for part in parts for name, value in part.state.items()},
        }
    )

    stores, redis = store_registry(settings)
    tracing = tracer_provider(settings.telemetry, span_exporter)

    async def dispose_engine() -> None:
        await runner.stop()
        await engine.dispose()
        if redis is not None:
            await redis.__aexit__(None, None, None)  # closes the Redis connection pool
        if tracing is not None:
            tracing.shutdown()  # sends the spans still queued

    app = Litestar(
        route_handlers=[
            HealthController,
            AuditController,
            NotificationController,
            NotificationAdminController,
            *IDENTITY_CONTROLLERS,
            *(handler for part in parts for handler in part.route_handlers),
            *(report_handler(report) for report in reports),
            ActivityController,
            *web_route_handlers(),
            *(handler for part in parts for handler in part.page_handlers),
        ],
        state=state,
        # Deny by default: every route passes this guard (see referral_service/identity/guards.py).
        guards=[authorize],
        # After the guard: an `/api/` body not declared JSON is refused (415), one with wrong fields
        # with every error at once (see referral_service/validation.py); then a page's work counts.
        before_request=before_handler,
        dependencies={
            "db_session": Provide(provide_db_session),
            "principal": Provide(provide_principal, sync_to_thread=False),
        },
        exception_handlers={**EXCEPTION_HANDLERS, **NOT_FOUND_HANDLERS},
        request_class=SafeJsonRequest,
        middleware=[request_metrics()] if metrics is not None else [],
        template_config=template_config(template_folders(), operator=settings.operator),
        on_startup=[runner.start],
        on_shutdown=[dispose_engine],
        request_max_body_size=settings.max_request_body_bytes,
        stores=stores,
        openapi_config=OpenAPIConfig(
            title="Referral and complaints service",
            version=API_VERSION,
            path="/schema",
            render_plugins=[ContractRenderPlugin()],
            openapi_router=Router("/schema", route_handlers=[], include_in_schema=False, opt=PUBLIC),
        ),
        debug=False,
        # Logging is configured once, by `configure_logging`: Litestar's default would replace the root
        # handler, and library lines (tracebacks included) would then bypass the allow-list.
        logging_config=None,
    )
    # Around the router, not per route: a 404, a 405 or a rate limiter's 429 (raised before any route
    # runs) gets the request id, the security headers and its true status in `request.completed` too.
    app.asgi_handler = request_context_middleware(security_headers_middleware(app.asgi_handler))
    if tracing is not None:
        # Outside the request id middleware: its log lines, `request.completed` too, get the trace id.
        app.asgi_handler = traced(app.asgi_handler, tracing)
    check_route_declarations(app)
    repair_allow_headers(app)
    return app


def app_from_environment() -> Litestar:
    """Factory for process managers that import the app by name (`serve --workers N`)."""
    from referral_service.settings import load_settings

    return create_app(load_settings())
