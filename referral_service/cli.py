"""The `referral-service` command line. Every command reads its settings from the environment.

The kernel's command groups, plus each installed domain's group, reports and retention providers.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service import schema
from referral_service.audit.cli import audit
from referral_service.cli_support import load_cli_settings as _settings
from referral_service.cli_support import run_async
from referral_service.db import create_engine, create_session_factory
from referral_service.domains import domain_reports, domain_settings, installed_domains, retention_providers
from referral_service.identity.cli import demo as identity_demo
from referral_service.identity.cli import seed_and_describe, users
from referral_service.keys.cli import keys
from referral_service.keys.service import CaseKeys
from referral_service.notifications.cli import notifications_group
from referral_service.notifications.delivery import Delivery
from referral_service.reporting.cli import report_group
from referral_service.retention.cli import retention_group
from referral_service.settings import Settings, SettingsError


async def _migrate(settings: Settings, revision: str) -> str | None:
    engine = create_engine(settings)
    try:
        await schema.upgrade(engine, revision)
        return await schema.current_revision(engine)
    finally:
        await engine.dispose()


def prepare_embedded_database(settings: Settings) -> None:
    """Development start: make the local data directory (owner-only) and migrate the database."""
    settings.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    run_async(lambda: _migrate(settings, "head"))


class _CommandLine(click.Group):
    """A domain reads its settings when a command needs them: a bad value is a clear one-line error
    there too, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_CommandLine, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="referral-service")
def main() -> None:
    """Victim-support referrals and the police complaints office.

    Configuration comes from REFERRAL_* environment variables (see the README).
    """


@main.command()
@click.option("--host", help="Bind address (default: REFERRAL_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Port (default: REFERRAL_PORT or 8000).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Worker processes.")
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Run the web service.

    In development this first migrates the embedded database; production expects `migrate` to have run.
    """
    import uvicorn

    from referral_service.app import create_app
    from referral_service.metrics.server import no_metrics_for_workers, start_metrics_server

    settings = _settings()
    domain_settings(settings)  # a bad domain variable stops the start before the database is touched
    if not settings.is_production:
        prepare_embedded_database(settings)
        # A newcomer gets a usable organisation at once; the logins are printed on every start.
        click.echo(seed_and_describe(settings, only_if_empty=True), err=True)
        seed_domain_demos(settings, only_if_empty=True)
    bind_host = host or settings.host
    bind_port = port or settings.port
    if not settings.is_production:
        # Production logs only JSON lines; uvicorn's own start line there names the address.
        click.echo(f"referral-service ({settings.environment}) on http://{bind_host}:{bind_port}", err=True)
    options = server_options(settings)
    if workers > 1:
        # Each worker process builds its own app (and pools) from the same environment. uvicorn's
        # supervisor stops its workers itself: no drain (REFERRAL_SHUTDOWN_DRAIN_SECONDS) here.
        no_metrics_for_workers(settings)
        uvicorn.run(
            "referral_service.app:app_from_environment",
            factory=True,
            workers=workers,
            host=bind_host,
            port=bind_port,
            **options,
        )
    else:
        from referral_service.health.draining import DrainingServer

        app = create_app(settings)
        metrics = start_metrics_server(app, settings)  # REFERRAL_METRICS_PORT, beside the service
        config = uvicorn.Config(app, host=bind_host, port=bind_port, **options)
        server = DrainingServer(config, drain_seconds=settings.shutdown_drain_seconds)
        server.run()
        if metrics is not None:
            metrics.stop()
        if not server.started:
            sys.exit(3)  # uvicorn's status for a failed start (e.g. the port is taken)


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for `serve`. X-Forwarded-For / -Proto are believed only from
    REFERRAL_TRUSTED_PROXIES: uvicorn's default trusts them from loopback, so a client behind a proxy
    on the same host could name any address, and get a fresh rate-limit budget, with each request.
    On SIGTERM (after REFERRAL_SHUTDOWN_DRAIN_SECONDS, referral_service/health/draining.py) uvicorn stops
    accepting and gives the requests in flight REFERRAL_SHUTDOWN_GRACE_SECONDS to finish (then cancels
    them) before the application's shutdown ends the jobs and closes the pools."""
    proxies = list(settings.trusted_proxies)
    return {
        "timeout_graceful_shutdown": settings.shutdown_grace_seconds,
        "access_log": False,
        "log_config": None,
        "server_header": False,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or [],
    }


@main.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def migrate(revision: str) -> None:
    """Apply database migrations (safe to run from several instances at once)."""
    settings = _settings()
    if settings.is_sqlite:
        settings.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    current = run_async(lambda: _migrate(settings, revision))
    click.echo(f"database at revision {current}")


def seed_domain_demos(settings: Settings, *, only_if_empty: bool) -> None:
    """Each domain's demo data (e.g. a postcode routing table), beside the demo organisation (identity)."""

    async def work() -> None:
        engine = create_engine(settings)
        try:
            async with create_session_factory(engine)() as session, session.begin():
                for domain in installed_domains():
                    if domain.seed_demo is not None:
                        await domain.seed_demo(session, only_if_empty)
        finally:
            await engine.dispose()

    run_async(work)


@main.command()
@click.pass_context
def demo(context: click.Context) -> None:
    """Create the Saxon sample organisation, one user per role and the postcode routing table
    (idempotent; refused in production)."""
    context.invoke(identity_demo)
    seed_domain_demos(_settings(), only_if_empty=False)


def _notification_delivery(settings: Settings, engine: AsyncEngine, case_keys: CaseKeys) -> Delivery:
    from referral_service.app import notification_delivery

    return notification_delivery(settings, engine, case_keys)


def _add_commands(group: click.Group) -> None:
    for command in (audit, keys, users):
        group.add_command(command)
    domains = installed_domains()
    for domain in domains:
        if domain.cli is not None:
            group.add_command(domain.cli)
    # A report's name does not depend on the configuration either; what it counts may (a deadline).
    group.add_command(
        report_group(domain_reports, [report.name for report in domain_reports(Settings())]), "report"
    )
    # A provider's case kind does not depend on the configuration, so the defaults name them all.
    case_kinds = [provider.case_kind for provider in retention_providers(Settings())]
    group.add_command(retention_group(retention_providers, case_kinds), "retention")
    group.add_command(notifications_group(_notification_delivery), "notifications")
    # One `import` group, whose subcommands the domains bring (the kernel names none of them).
    loaders = click.Group(
        "import", help="Load cases of earlier years from a file (CSV or XLSX), all or nothing."
    )
    for domain in domains:
        if domain.importer is not None:
            loaders.add_command(domain.importer, domain.name)
    group.add_command(loaders)


_add_commands(main)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
