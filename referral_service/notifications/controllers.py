"""`/api/v1/admin/notifications`: the e-mail outbox in numbers, for the administrators' monitoring.

Counts only: how many e-mails are in each state, and how long the oldest waiting one has waited. A
monitoring system polls this with an administrator's token and alerts on dead or uncertain e-mails or
a growing wait; the administrators' page (`/verwaltung/benachrichtigungen`) shows the same numbers
and the failed rows. The health probes stay out of it on purpose: they are public and answer the
load balancer, and an instance whose mail server is down still serves every page (mail waits in the
outbox), so readiness must not fail because of mail.
"""

from __future__ import annotations

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.db import utcnow
from referral_service.identity.http import requires
from referral_service.identity.permissions import Permission
from referral_service.notifications.delivery import delivery_summary


class EmailStateCounts(msgspec.Struct, kw_only=True):
    """E-mails by state (`EmailState`); rows without an e-mail are not counted."""

    pending: int
    digest: int
    sending: int
    sent: int
    dead: int
    uncertain: int


class DeliverySummaryOut(msgspec.Struct, kw_only=True):
    counts: EmailStateCounts
    # Since the event of the oldest e-mail waiting to be sent (`pending`), in whole seconds; null when
    # none waits. Digest e-mails wait for their hour by design and are not counted here.
    oldest_pending_age_seconds: int | None


class NotificationAdminController(Controller):
    path = "/api/v1/admin/notifications"
    tags = ["notifications"]

    @get(
        "/summary",
        opt=requires(Permission.IDENTITY_NOTIFICATION_EMAIL_READ),
        summary="Notification e-mails by state, and the age of the oldest waiting one",
    )
    async def summary(self, db_session: NamedDependency[AsyncSession]) -> DeliverySummaryOut:
        found = await delivery_summary(db_session, utcnow())
        age = found.oldest_pending_age
        return DeliverySummaryOut(
            counts=EmailStateCounts(
                pending=found.pending,
                digest=found.digest,
                sending=found.sending,
                sent=found.sent,
                dead=found.dead,
                uncertain=found.uncertain,
            ),
            oldest_pending_age_seconds=int(age.total_seconds()) if age is not None else None,
        )
