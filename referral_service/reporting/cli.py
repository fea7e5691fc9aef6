"""`referral-service report cooperation|complaints-annual`: a report to stdout or a file.

The group is built by `referral_service.cli` with each domain's report builder (the kernel imports no
domain). A report made here is audited like one fetched from the API, with the system as actor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import BinaryIO

import click

from referral_service.audit.recorder import SYSTEM
from referral_service.cli_support import load_cli_settings, run_async
from referral_service.db import create_engine, create_session_factory, utcnow
from referral_service.problems import DomainError
from referral_service.reporting.periods import FIRST_YEAR, LAST_YEAR
from referral_service.reporting.service import (
    DomainReport,
    ReportFormat,
    produce_report,
    render,
    report_threshold,
)
from referral_service.settings import Settings, SettingsError

ReportFactory = Callable[[Settings], Sequence[DomainReport]]


def report_group(reports_for: ReportFactory, names: Sequence[str]) -> click.Group:
    """A command per declared report, named like its route; the report itself is taken from the
    configuration the command runs with."""

    @click.group()
    def report() -> None:
        """Cooperation-agreement and complaints reports (small counts withheld), as JSON, CSV, CSV for
        German spreadsheets (csv-de) or XLSX."""

    for name in names:
        report.add_command(_report_command(reports_for, name))
    return report


def _report_command(reports_for: ReportFactory, name: str) -> click.Command:

    @click.command(name)
    @click.option("--year", type=click.IntRange(FIRST_YEAR, LAST_YEAR), required=True, help="Calendar year.")
    @click.option("--quarter", type=click.IntRange(1, 4), help="Quarter 1-4 (default: the whole year).")
    @click.option("--directorate", metavar="CODE", help="A police directorate's code (default: the state).")
    @click.option(
        "--format",
        "report_format",
        type=click.Choice([f.value for f in ReportFormat]),
        default=ReportFormat.JSON.value,
        show_default=True,
    )
    @click.option("--output", type=click.File("wb"), default="-", help="File to write (default: stdout).")
    def command(
        year: int,
        quarter: int | None,
        directorate: str | None,
        report_format: str,
        output: BinaryIO,
    ) -> None:
        settings = load_cli_settings()
        chosen = ReportFormat(report_format)
        declared = next(found for found in reports_for(settings) if found.name == name)
        try:
            threshold = report_threshold(settings.environ, declared.kind)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None

        async def main() -> bytes:
            engine = create_engine(settings)
            try:
                async with create_session_factory(engine)() as session, session.begin():
                    produced = await produce_report(
                        session,
                        declared,
                        year=year,
                        quarter=quarter,
                        directorate=directorate,
                        report_format=chosen,
                        actor=SYSTEM,
                        audit={},
                        now=utcnow(),
                        threshold=threshold,
                    )
                    return render(produced, chosen)
            finally:
                await engine.dispose()

        try:
            body = run_async(main)
        except DomainError as exc:
            raise click.ClickException(exc.detail) from None
        # JSON ends with a line break like any text on a terminal; files are written as they are.
        output.write(body + b"\n" if chosen is ReportFormat.JSON else body)

    command.help = (
        f"The {name.replace('-', ' ')} report for a year or quarter, for the state or one directorate."
    )
    return command
