"""`referral-service complaints remind`."""

from __future__ import annotations

import click

from complaints.config import ComplaintsConfig
from complaints.reminders import remind_deadlines
from referral_service.cli_support import load_cli_settings, run_async
from referral_service.db import create_engine


@click.group()
def complaints() -> None:
    """Complaint deadlines."""


@complaints.command()
def remind() -> None:
    """Remind whoever must act of deadlines that fall due soon (the service also does this hourly)."""
    settings = load_cli_settings()
    # A bad variable is refused before the database is touched.
    config = ComplaintsConfig.from_environ(settings.environ)

    async def main() -> int:
        engine = create_engine(settings)
        try:
            return await remind_deadlines(engine, config)
        finally:
            await engine.dispose()

    click.echo(f"{run_async(main)} deadlines due soon")
