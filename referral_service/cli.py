"""The `referral-service` command line. Every command reads its settings from the environment."""

from __future__ import annotations

import sys

import click

from referral_service import schema
from referral_service.audit.cli import audit
from referral_service.cli_support import load_cli_settings as _settings
from referral_service.cli_support import run_async
from referral_service.db import create_engine
from referral_service.identity.cli import demo as identity_demo
from referral_service.identity.cli import seed_and_describe, users
from referral_service.keys.cli import keys
from referral_service.referrals.cli import referrals
from referral_service.reporting.cli import report_group
from referral_service.reporting.service import ReportBuilder
from referral_service.retention.cli import retention_group
from referral_service.retention.providers import RetentionProvider
from referral_service.settings import Settings


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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

    settings = _settings()
    if not settings.is_production:
        prepare_embedded_database(settings)
        # A newcomer gets a usable organisation at once; the logins are printed on every start.
        click.echo(seed_and_describe(settings, only_if_empty=True), err=True)
        seed_demo_routing(settings, only_if_empty=True)
    bind_host = host or settings.host
    bind_port = port or settings.port
    click.echo(f"referral-service ({settings.environment}) on http://{bind_host}:{bind_port}", err=True)
    if workers > 1:
        # Each worker process builds its own app (and pools) from the same environment.
        uvicorn.run(
            "referral_service.app:app_from_environment",
            factory=True,
            workers=workers,
            host=bind_host,
            port=bind_port,
            access_log=False,
            log_config=None,
            server_header=False,
        )
    else:
        uvicorn.run(
            create_app(settings),
            host=bind_host,
            port=bind_port,
            access_log=False,
            log_config=None,
            server_header=False,
        )


@main.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def migrate(revision: str) -> None:
    """Apply database migrations (safe to run from several instances at once)."""
    settings = _settings()
    if settings.is_sqlite:
        settings.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    current = run_async(lambda: _migrate(settings, revision))
    click.echo(f"database at revision {current}")


def seed_demo_routing(settings: Settings, *, only_if_empty: bool) -> None:
    """The demo's postcode routing table (referrals domain), beside the demo organisation (identity)."""
    from referral_service.db import create_session_factory
    from referral_service.referrals.repository import count_postcode_routes
    from referral_service.referrals.routing import seed_demo_routes

    async def work() -> None:
        engine = create_engine(settings)
        try:
            async with create_session_factory(engine)() as session, session.begin():
                if not only_if_empty or await count_postcode_routes(session) == 0:
                    await seed_demo_routes(session)
        finally:
            await engine.dispose()

    run_async(work)


@main.command()
@click.pass_context
def demo(context: click.Context) -> None:
    """Create the Saxon sample organisation, one user per role and the postcode routing table
    (idempotent; refused in production)."""
    context.invoke(identity_demo)
    seed_demo_routing(_settings(), only_if_empty=False)


main.add_command(audit)
main.add_command(keys)
main.add_command(users)
main.add_command(referrals)


def _retention_providers(settings: Settings) -> list[RetentionProvider]:
    from referral_service.app import retention_providers

    return retention_providers(settings)


def _report_builders() -> dict[str, tuple[str, ReportBuilder]]:
    from complaints import reports as complaint_reports
    from referral_service.referrals import reports as referral_reports

    return {
        "cooperation": (referral_reports.KIND, referral_reports.cooperation_report),
        "complaints-annual": (complaint_reports.KIND, complaint_reports.complaints_annual_report),
    }


main.add_command(report_group(_report_builders()), "report")
main.add_command(retention_group(_retention_providers, ["referral", "complaint"]), "retention")

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
