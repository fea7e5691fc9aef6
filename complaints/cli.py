"""`referral-service complaints remind` and `referral-service import complaints FILE`."""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from complaints.config import ComplaintsConfig
from complaints.importer import rows
from complaints.importer.rows import RowError
from complaints.importer.service import ImportResult, import_sheet
from complaints.reminders import remind_deadlines
from referral_service.cli_support import load_cli_settings, run_async
from referral_service.db import create_engine, create_session_factory
from referral_service.keys.service import CaseKeys, load_key_provider


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
    if import_id is not None and not _IMPORT_ID.fullmatch(import_id):
        raise click.BadParameter("letters, digits and . _ : - only, at most 64", param_hint="--import-id")
    sheet, errors = rows.read_sheet(file)
    if sheet is None:
        _refuse(errors)
    assert sheet is not None
    chosen = import_id or _digest(file)

    async def main() -> ImportResult:
        engine = create_engine(settings)
        keys = CaseKeys(lambda: load_key_provider(settings))
        try:
            with click.progressbar(length=len(sheet.rows), label="importing", file=sys.stderr) as bar:
                async with create_session_factory(engine)() as session, session.begin():
                    return await import_sheet(
                        session, keys, config, sheet, import_id=chosen, dry_run=dry_run, progress=bar.update
                    )
        finally:
            await engine.dispose()

    result = run_async(main)
    if result.errors:
        _refuse(result.errors)
    if result.already_imported:
        click.echo(f"already imported (import id {chosen}): nothing to do")
        return
    statuses = ", ".join(f"{count} {status}" for status, count in sorted(result.statuses.items()))
    if dry_run:
        click.echo(f"dry run: {result.complaints} complaints would be imported ({statuses}); nothing written")
    else:
        click.echo(f"imported {result.complaints} complaints ({statuses}), import id {chosen}")


_IMPORT_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")


def _digest(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _refuse(errors: Sequence[RowError]) -> None:
    for line in rows.error_lines(errors):
        click.echo(line)
    click.echo(f"{len(errors)} errors: nothing imported", err=True)
    raise SystemExit(1)
