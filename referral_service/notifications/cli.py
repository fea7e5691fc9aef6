"""`referral-service notifications send`: the e-mail sender by hand or from cron.

The command group is built by `referral_service.cli`, which passes in how to build the sender (the
installed domains' kinds and the catalogues live above this layer).
"""

from __future__ import annotations

from collections.abc import Callable

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.cli_support import load_cli_settings, run_async
from referral_service.db import create_engine, utcnow
from referral_service.keys.service import CaseKeys, load_key_provider
from referral_service.logging import configure_logging
from referral_service.notifications.delivery import Delivery, SendRun, send_due
from referral_service.settings import Settings

DeliveryFactory = Callable[[Settings, AsyncEngine, CaseKeys], Delivery]


def notifications_group(delivery_for: DeliveryFactory) -> click.Group:
    @click.group()
    def notifications() -> None:
        """Notification e-mails."""

    @notifications.command("send")
    def send() -> None:
        """Send every notification e-mail that is due (the service also does this every few seconds).

        Safe beside running instances: one sender claims each e-mail. Without REFERRAL_SMTP_HOST
        (development) the e-mails are written to the maildir under REFERRAL_VAR_DIR instead.
        """
        settings = load_cli_settings()
        configure_logging(settings)

        async def main() -> SendRun:
            engine = create_engine(settings)
            try:
                keys = CaseKeys(lambda: load_key_provider(settings))
                return await send_due(delivery_for(settings, engine, keys), now=utcnow())
            finally:
                await engine.dispose()

        run = run_async(main)
        if run.skipped:
            click.echo("another instance is sending notification e-mails; try again later", err=True)
        click.echo(
            f"{run.sent} sent, {run.retried} to be tried again, {run.dead} dead letters, "
            f"{run.uncertain} uncertain"
        )

    return notifications
