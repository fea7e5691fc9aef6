"""`referral-service complaints remind` and `referral-service import complaints FILE`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.config import ComplaintsConfig
from complaints.importer import rows
from complaints.importer.service import ImportResult, import_sheet
from complaints.reminders import remind_deadlines
from referral_service import importing
from referral_service.cli_support import load_cli_settings, run_async
from referral_service.db import create_engine
from referral_service.keys.service import CaseKeys


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


@click.command("complaints")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and print the report; write nothing.")
@click.option(
    "--import-id",
    help="Names the import (default: the SHA-256 of the file); an import already recorded is not repeated.",
)
def import_complaints(file: Path, dry_run: bool, import_id: str | None) -> None:
    """Load complaints of earlier years from FILE (CSV or XLSX; columns: docs/complaints.md).

    Every row is checked first; one error and nothing is written (exit code 1). Otherwise all rows are
    written in one transaction and audited as one event.
    """
    settings = load_cli_settings()
    config = ComplaintsConfig.from_environ(settings.environ)
    chosen = importing.import_id_for(file, import_id)
    sheet, errors = rows.read_sheet(file)
    if sheet is None:
        importing.refuse(errors, rows.MESSAGES)
    assert sheet is not None

    async def work(session: AsyncSession, keys: CaseKeys, progress: Callable[[int], None]) -> ImportResult:
        return await import_sheet(
            session, keys, config, sheet, import_id=chosen, dry_run=dry_run, progress=progress
        )

    result = importing.run_import(settings, sheet, work)
    if result.errors:
        importing.refuse(result.errors, rows.MESSAGES)
    if result.already_imported:
        click.echo(f"already imported (import id {chosen}): nothing to do")
        return
    statuses = ", ".join(f"{count} {status}" for status, count in sorted(result.statuses.items()))
    if dry_run:
        click.echo(f"dry run: {result.complaints} complaints would be imported ({statuses}); nothing written")
    else:
        click.echo(f"imported {result.complaints} complaints ({statuses}), import id {chosen}")
