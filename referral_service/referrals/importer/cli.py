"""`referral-service import referrals FILE`: earlier years' referrals from CSV or XLSX, all or nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path

import click
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service import importing
from referral_service.cli_support import load_cli_settings
from referral_service.keys.service import CaseKeys
from referral_service.referrals.importer import repository, rows
from referral_service.referrals.importer.service import ImportOptions, ImportResult, import_sheet
from referral_service.referrals.policy import ReferralPolicy
from referral_service.settings import SettingsError, variable

STARTED_ON = "REFERRALS_STARTED_ON"


def started_on(environ: Mapping[str, str]) -> dt.date | None:
    """REFERRAL_REFERRALS_STARTED_ON: the day the cooperation began, before which the import refuses a
    date (a typed 1017 would otherwise land in a report); unset, no floor: offices began in different
    years, and no default fits them all."""
    value = variable(environ, STARTED_ON)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise SettingsError(f"REFERRAL_{STARTED_ON} must be a date (YYYY-MM-DD)") from None


@click.command("referrals")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--recorded-by",
    required=True,
    help="User name of the active account the referrals are recorded by (as referring officer and "
    "recorder of the consent: the officers of old records have no accounts).",
)
@click.option("--dry-run", is_flag=True, help="Check every row and print the report; write nothing.")
@click.option(
    "--import-id",
    help="Names the import (default: the SHA-256 of the file); an import already recorded is not repeated.",
)
def import_referrals(file: Path, recorded_by: str, dry_run: bool, import_id: str | None) -> None:
    """Load referrals of earlier years from FILE (CSV or XLSX; columns: docs/referrals.md).

    Every row is checked first; one error and nothing is written (exit code 1). Otherwise all rows are
    written in one transaction and audited as one event.
    """
    settings = load_cli_settings()
    policy = ReferralPolicy.from_environ(settings.environ)
    floor = started_on(settings.environ)
    chosen = importing.import_id_for(file, import_id)
    sheet, errors = rows.read_sheet(file)
    if sheet is None:
        importing.refuse(errors, rows.MESSAGES)
    assert sheet is not None

    async def work(
        session: AsyncSession, keys: CaseKeys, progress: Callable[[int], None]
    ) -> ImportResult | None:
        user = await repository.active_user_id(session, recorded_by)
        if user is None:
            return None
        options = ImportOptions(
            import_id=chosen, recorded_by=user, now=policy.clock(), started_on=floor, dry_run=dry_run
        )
        return await import_sheet(session, keys, sheet, options, progress=progress)

    result = importing.run_import(settings, sheet, work)
    if result is None:
        raise click.BadParameter("no active user has this name", param_hint="--recorded-by")
    if result.errors:
        importing.refuse(result.errors, rows.MESSAGES)
    if result.already_imported:
        click.echo(f"already imported (import id {chosen}): nothing to do")
        return
    statuses = ", ".join(f"{count} {status}" for status, count in sorted(result.statuses.items()))
    if dry_run:
        click.echo(f"dry run: {result.referrals} referrals would be imported ({statuses}); nothing written")
    else:
        click.echo(f"imported {result.referrals} referrals ({statuses}), import id {chosen}")
