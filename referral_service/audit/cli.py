"""`referral-service audit verify|checkpoint|prove|export|verifier-key`."""

from __future__ import annotations

import json
import sys
from typing import TextIO

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from referral_service.audit import repository
from referral_service.audit.keys import load_audit_keys
from referral_service.audit.service import (
    ProofUnavailableError,
    VerificationReport,
    create_checkpoint,
    prove_inclusion,
    sequence_pending,
    verify_log,
)
from referral_service.cli_support import load_cli_settings, run_async
from referral_service.db import create_engine, create_session_factory


@click.group()
def audit() -> None:
    """Verify, checkpoint and prove the tamper-evident audit log."""


@audit.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(as_json: bool) -> None:
    """Recompute the whole log, check every entry and every signed checkpoint.

    Exits 1 and names the first bad position when anything was modified, deleted, inserted, reordered
    or cut off.
    """
    settings = load_cli_settings()
    keys = load_audit_keys(settings)

    async def main() -> VerificationReport:
        engine = create_engine(settings)
        try:
            async with engine.connect() as connection:
                total = await repository.log_size(connection)
            with Progress(
                TextColumn("verifying audit log"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                disable=as_json or not sys.stderr.isatty(),
                console=None,
            ) as progress:
                task = progress.add_task("verify", total=total)
                return await verify_log(engine, keys, progress=lambda n: progress.advance(task, n))
        finally:
            await engine.dispose()

    report = run_async(main)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "tree_size": report.tree_size,
                    "checkpoints_checked": report.checkpoints_checked,
                    "unsequenced_events": report.unsequenced_events,
                    "first_bad_position": report.first_bad_position,
                    "problems": report.problems,
                },
                indent=2,
            )
        )
    elif report.ok:
        click.echo(
            f"audit log intact: {report.tree_size} entries, {report.checkpoints_checked} signed checkpoints "
            f"verified ({report.unsequenced_events} events awaiting sequencing)"
        )
    else:
        click.echo(f"AUDIT LOG DAMAGED: first bad position {report.first_bad_position}", err=True)
        for problem in report.problems:
            click.echo(f"  {problem}", err=True)
    if not report.ok:
        sys.exit(1)


@audit.command()
def checkpoint() -> None:
    """Sequence pending events and sign a checkpoint of the current tree head; print it."""
    settings = load_cli_settings()
    keys = load_audit_keys(settings)

    async def main() -> str | None:
        engine = create_engine(settings)
        try:
            row = await create_checkpoint(engine, keys)
            return row.signed_text if row else None
        finally:
            await engine.dispose()

    text = run_async(main)
    click.echo(text if text else "no new events since the last checkpoint")


@audit.command()
@click.argument("seq", type=int)
def prove(seq: int) -> None:
    """Print an inclusion proof (JSON) of log position SEQ against the newest checkpoint."""
    settings = load_cli_settings()
    keys = load_audit_keys(settings)

    async def main() -> dict[str, object]:
        engine = create_engine(settings)
        try:
            await sequence_pending(engine, keys)
            async with create_session_factory(engine)() as session:
                proof = await prove_inclusion(session, seq)
        finally:
            await engine.dispose()
        return {
            "seq": proof.seq,
            "leaf_hash": proof.leaf_hash.hex(),
            "tree_size": proof.tree_size,
            "root_hash": proof.root_hash.hex(),
            "proof": [node.hex() for node in proof.proof],
            "checkpoint": proof.checkpoint,
        }

    try:
        click.echo(json.dumps(run_async(main), indent=2))
    except ProofUnavailableError:
        raise click.ClickException(
            f"no checkpoint covers position {seq} yet (run `audit checkpoint`), or it does not exist"
        ) from None


@audit.command()
@click.option("--output", type=click.File("w"), default="-", help="File to write (default: stdout).")
def export(output: TextIO) -> None:
    """Export every signed checkpoint as text, for anchoring outside the database."""
    settings = load_cli_settings()

    async def main() -> list[str]:
        engine = create_engine(settings)
        try:
            async with engine.connect() as connection:
                return [row.signed_text for row in await repository.checkpoints_in_order(connection)]
        finally:
            await engine.dispose()

    for text in run_async(main):
        output.write(text + "\n")


@audit.command("verifier-key")
def verifier_key() -> None:
    """Print the public key that verifies checkpoints (give it to auditors)."""
    click.echo(load_audit_keys(load_cli_settings()).signer.public_key_text())
