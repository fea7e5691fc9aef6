"""`referral-service retention run|erase KIND ID`: the retention job by hand, and erasure requests.

The command group is built by `referral_service.cli`, which knows the domains and passes their
providers in (the kernel imports no domain).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Sequence

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from referral_service.cli_support import load_cli_settings, run_async
from referral_service.db import create_engine, utcnow
from referral_service.keys.service import CaseKeys, load_key_provider
from referral_service.retention.providers import (
    CaseNotFoundError,
    CaseStillOpenError,
    Erasure,
    RetentionProvider,
)
from referral_service.retention.runner import (
    DEFAULT_BATCH_SIZE,
    RetentionRun,
    count_due,
    erase_on_request,
    run_retention,
)
from referral_service.settings import Settings

ProviderFactory = Callable[[Settings], Sequence[RetentionProvider]]


def retention_group(providers_for: ProviderFactory, case_kinds: Sequence[str]) -> click.Group:
    @click.group()
    def retention() -> None:
        """Erase personal data past its retention period, or of one case on request."""

    @retention.command("run")
    @click.option(
        "--batch-size", type=click.IntRange(1, 10_000), default=DEFAULT_BATCH_SIZE, show_default=True
    )
    def run(batch_size: int) -> None:
        """Erase every case whose retention period has passed (the service also does this daily).

        Destroys each case's data key, clears its ciphertext and blind indexes, keeps its statistics
        and audits each erasure. Running it again changes nothing.
        """
        settings = load_cli_settings()
        providers = providers_for(settings)

        async def main() -> RetentionRun:
            engine = create_engine(settings)
            keys = CaseKeys(lambda: load_key_provider(settings))
            now = utcnow()
            try:
                due = await count_due(engine, providers, now=now)
                with Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeRemainingColumn(),
                    disable=not sys.stderr.isatty(),
                ) as progress:
                    tasks = {
                        kind: progress.add_task(f"erasing {kind} cases", total=count)
                        for kind, count in due.items()
                    }
                    return await run_retention(
                        engine,
                        keys,
                        providers,
                        now=now,
                        batch_size=batch_size,
                        progress=lambda kind, n: progress.advance(tasks[kind], n),
                    )
            finally:
                await engine.dispose()

        result = run_async(main)
        if result.skipped:
            click.echo("another instance is running the retention job; try again later", err=True)
        for kind, count in result.erased.items():
            click.echo(f"{count} {kind} cases erased")

    @retention.command("erase")
    @click.argument("kind", type=click.Choice(list(case_kinds)))
    @click.argument("case_id", type=click.UUID)
    @click.option("--yes", is_flag=True, help="Confirmed beforehand (scripts): do not ask.")
    def erase(kind: str, case_id: uuid.UUID, yes: bool) -> None:
        """Erase the personal data of one finished case now (a data subject's erasure request)."""
        if not yes:
            # Erasure destroys the case's data key: a mistyped id cannot be taken back, so say so first.
            click.confirm(
                f"Erase the personal data of {kind} {case_id}? Its data key is destroyed and its personal "
                "fields can never be read again; only its statistics stay. This cannot be undone. Erase",
                abort=True,
            )
        settings = load_cli_settings()
        provider = next(p for p in providers_for(settings) if p.case_kind == kind)

        async def main() -> Erasure | None:
            engine = create_engine(settings)
            keys = CaseKeys(lambda: load_key_provider(settings))
            try:
                return await erase_on_request(engine, keys, provider, case_id)
            finally:
                await engine.dispose()

        try:
            erasure = run_async(main)
        except CaseNotFoundError:
            raise click.ClickException(f"no {kind} with id {case_id}") from None
        except CaseStillOpenError as exc:
            raise click.ClickException(exc.detail) from None
        if erasure is None:
            click.echo(f"{kind} {case_id}: nothing left to erase (request recorded)")
        else:
            click.echo(
                f"{kind} {case_id} erased: key {'destroyed' if erasure.key_destroyed else 'already gone'}, "
                f"{len(erasure.fields)} fields cleared"
            )

    return retention
