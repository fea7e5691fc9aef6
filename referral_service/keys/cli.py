"""`referral-service keys status|rotate|retire`: key-encryption key rotation without re-encrypting data."""

from __future__ import annotations

import sys

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from referral_service.audit.recorder import SYSTEM, record_event
from referral_service.cli_support import load_cli_settings, run_async
from referral_service.db import create_engine, create_session_factory
from referral_service.keys.audit_actions import KeyAuditAction
from referral_service.keys.service import CaseKeys, load_key_provider


@click.group()
def keys() -> None:
    """Key-encryption keys (KEKs): status, rotation, retiring old versions."""


@keys.command()
def status() -> None:
    """Show KEK versions and how many data keys each still wraps."""
    settings = load_cli_settings()
    case_keys = CaseKeys(lambda: load_key_provider(settings))

    async def main() -> dict[int, int]:
        engine = create_engine(settings)
        try:
            async with create_session_factory(engine)() as session:
                return await case_keys.usage_by_kek_version(session)
        finally:
            await engine.dispose()

    usage = run_async(main)
    current = case_keys.provider.current_version
    for version in case_keys.provider.versions():
        marker = " (current)" if version == current else ""
        click.echo(f"KEK version {version}{marker}: {usage.get(version, 0)} data keys")


@keys.command()
def rotate() -> None:
    """Create a new KEK version and re-wrap every data key under it (online; no data is re-encrypted).

    Other instances pick up the new version on their next unwrap of a key wrapped under it.
    """
    settings = load_cli_settings()
    case_keys = CaseKeys(lambda: load_key_provider(settings))
    new_version = case_keys.provider.add_version()

    async def main() -> tuple[int, dict[int, int]]:
        engine = create_engine(settings)
        try:
            factory = create_session_factory(engine)
            async with factory() as session:
                total = sum((await case_keys.usage_by_kek_version(session)).values())
            with Progress(
                TextColumn("re-wrapping data keys"),
                BarColumn(),
                MofNCompleteColumn(),
                disable=not sys.stderr.isatty(),
            ) as progress:
                task = progress.add_task("rewrap", total=total)
                done = await case_keys.rewrap_all(engine, progress=lambda n: progress.advance(task, n))
            async with factory() as session, session.begin():
                await record_event(
                    session,
                    action=KeyAuditAction.KEY_ROTATE,
                    actor=SYSTEM,
                    target_type="kek",
                    target_id=str(new_version),
                    details={"rewrapped": done},
                )
                usage = await case_keys.usage_by_kek_version(session)
            return done, usage
        finally:
            await engine.dispose()

    done, usage = run_async(main)
    click.echo(f"KEK version {new_version} is current; {done} data keys re-wrapped.")
    for version, count in sorted(usage.items()):
        if version != new_version:
            click.echo(f"KEK version {version} still wraps {count} data keys.")
    retired = [v for v in case_keys.provider.versions() if v != new_version and usage.get(v, 0) == 0]
    if retired:
        click.echo(
            f"Unused now, can be retired: {', '.join(map(str, retired))} (`referral-service keys retire N`)."
        )


@keys.command()
@click.argument("version", type=int)
def retire(version: int) -> None:
    """Remove KEK VERSION from the keyring; refused while any data key still uses it."""
    settings = load_cli_settings()
    case_keys = CaseKeys(lambda: load_key_provider(settings))

    async def main() -> int:
        engine = create_engine(settings)
        try:
            async with create_session_factory(engine)() as session:
                return (await case_keys.usage_by_kek_version(session)).get(version, 0)
        finally:
            await engine.dispose()

    in_use = run_async(main)
    if in_use:
        raise click.ClickException(
            f"KEK version {version} still wraps {in_use} data keys; run `keys rotate` first"
        )
    if version == case_keys.provider.current_version:
        raise click.ClickException(f"KEK version {version} is the current version")
    case_keys.provider.remove_version(version)

    async def audit() -> None:
        engine = create_engine(settings)
        try:
            async with create_session_factory(engine)() as session, session.begin():
                await record_event(
                    session,
                    action=KeyAuditAction.KEY_RETIRE,
                    actor=SYSTEM,
                    target_type="kek",
                    target_id=str(version),
                )
        finally:
            await engine.dispose()

    run_async(audit)
    click.echo(f"KEK version {version} removed from the keyring.")
