"""`referral-service referrals escalate|seed-demo-routes`."""

from __future__ import annotations

import click

from referral_service.cli_support import load_cli_settings, run_async
from referral_service.db import create_engine, create_session_factory
from referral_service.referrals.deadlines import escalate_overdue
from referral_service.referrals.policy import ReferralPolicy
from referral_service.referrals.routing import seed_demo_routes


@click.group()
def referrals() -> None:
    """Referral deadlines and routing."""


@referrals.command()
def escalate() -> None:
    """Escalate overdue referrals now (the service also does this every few minutes)."""
    settings = load_cli_settings()

    async def main() -> int:
        engine = create_engine(settings)
        try:
            return await escalate_overdue(engine, ReferralPolicy.from_environ(settings.environ))
        finally:
            await engine.dispose()

    click.echo(f"{run_async(main)} referrals escalated")


@referrals.command("seed-demo-routes")
def seed_routes() -> None:
    """Load the Saxon demo postcode ranges into the routing table (after `referral-service demo`)."""
    settings = load_cli_settings()

    async def main() -> int:
        engine = create_engine(settings)
        try:
            async with create_session_factory(engine)() as session, session.begin():
                return await seed_demo_routes(session)
        finally:
            await engine.dispose()

    click.echo(f"{run_async(main)} postcode ranges routed")
