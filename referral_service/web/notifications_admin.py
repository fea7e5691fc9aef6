"""The administrators' page of the notification e-mails ("Benachrichtigungen" in the administration):
how many are in each state, how long the oldest waiting one has waited, and the e-mails that failed
for good or may have gone out, each with "send again".

What a row shows, and why no more, is `referral_service.notifications.monitoring`'s: no reference,
no link, no address, so that administrators learn neither which cases exist nor who is in them. The
kind is named in words from the installed domains' kinds (a code no domain declares any more is
shown as it is: the administrator needs it to ask about it), the error code in words.

"Send again" asks first (web/confirmation.py): for an uncertain e-mail the recipient may already have
it, and would then get it twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.db import utcnow
from referral_service.identity.http import audit_fields, requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.listing import PAGE_SIZE, InvalidCursorError, url_with
from referral_service.notifications import monitoring
from referral_service.notifications.delivery import delivery_summary
from referral_service.notifications.kinds import NotificationKind
from referral_service.notifications.models import EmailState
from referral_service.web.admin import ADMIN_AREA
from referral_service.web.confirmation import Answer, Confirmation, answer, confirmation_page
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.forms import form_input
from referral_service.web.i18n import N_, Translator, translator_for
from referral_service.web.notifications import notification_kinds
from referral_service.web.render import NOTICE_PARAMETER, page, see_other
from referral_service.web.work import counted

EMAILS_PATH = f"{ADMIN_AREA.path}/benachrichtigungen"
# The list's paging cursor in the address.
CURSOR = "nach"
# The states in the order the page counts them: what went out, what waits, what went wrong.
_COUNTED = (
    EmailState.SENT,
    EmailState.PENDING,
    EmailState.DIGEST,
    EmailState.SENDING,
    EmailState.UNCERTAIN,
    EmailState.DEAD,
)

Session = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]


def _age(t: Translator, age: dt.timedelta) -> str:
    """A wait in its largest whole unit ("3 Stunden"): enough to tell a slow queue from a stuck one."""
    minutes = int(age.total_seconds()) // 60
    if minutes < 1:
        return t("notifications_admin.age.under_a_minute")
    if minutes < 120:
        return counted(t, "notifications_admin.age.minutes", minutes)
    if minutes < 48 * 60:
        return counted(t, "notifications_admin.age.hours", minutes // 60)
    return counted(t, "notifications_admin.age.days", minutes // (24 * 60))


def _row(
    email: monitoring.FailedEmail, t: Translator, kinds: Mapping[str, NotificationKind]
) -> dict[str, Any]:
    kind = kinds.get(email.kind)
    error_key = f"notifications_admin.error.{email.error}"
    return {
        "id": email.id,
        "created_at": email.created_at,
        "kind": t(kind.label_key) if kind is not None else email.kind,
        "state": t(f"notifications_admin.state.{email.state}"),
        "attempts": email.attempts,
        # A code this page does not know yet is shown as it is rather than hidden.
        "error": t(error_key) if email.error and t.has(error_key) else email.error,
        "recipient": email.recipient_username
        if email.recipient_username is not None
        else t("notifications_admin.recipient.complainant"),
    }


class NotificationAdminPages(Controller):
    path = EMAILS_PATH
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("", opt=requires(Permission.IDENTITY_NOTIFICATION_EMAIL_READ))
    async def emails(
        self, request: Request[Any, Any, Any], db_session: Session, principal: Caller
    ) -> Response[Any]:
        t = translator_for(request)
        summary = await delivery_summary(db_session, utcnow())
        after = request.query_params.get(CURSOR) or None
        rows: list[dict[str, Any]] = []
        next_url = None
        cursor_invalid = False
        try:
            found = await monitoring.failed_emails(db_session, after=after, limit=PAGE_SIZE)
        except InvalidCursorError:
            cursor_invalid = True
        else:
            kinds = notification_kinds(request.app.state)
            rows = [_row(email, t, kinds) for email in found.items]
            if found.next_cursor:
                next_url = url_with(request, **{CURSOR: found.next_cursor, NOTICE_PARAMETER: None})
        age = summary.oldest_pending_age
        return page(
            request,
            "admin/notifications.html",
            status_code=400 if cursor_invalid else 200,
            context={
                "counts": [
                    (t(f"notifications_admin.state.{state}"), getattr(summary, state.value))
                    for state in _COUNTED
                ],
                "oldest_wait": _age(t, age) if age is not None else None,
                "rows": rows,
                "next_url": next_url,
                "first_url": url_with(request, **{CURSOR: None, NOTICE_PARAMETER: None}) if after else None,
                "cursor_invalid": cursor_invalid,
                "can_release": principal.has(Permission.IDENTITY_NOTIFICATION_EMAIL_RELEASE),
            },
        )

    @post(
        "/{notification_id:uuid}/erneut-senden",
        opt=requires(Permission.IDENTITY_NOTIFICATION_EMAIL_RELEASE),
        status_code=200,
    )
    async def resend(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        principal: Caller,
        notification_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        data = await form_input(request)
        # Looked up before asking: an unknown e-mail is 404, one that needs no resending 409, on this
        # step as on the next.
        email = await monitoring.failed_email(db_session, notification_id)
        t = translator_for(request)
        uncertain = email.state is EmailState.UNCERTAIN
        kind = notification_kinds(request.app.state).get(email.kind)
        question = Confirmation(
            title=N_("notifications_admin.confirm.title"),
            consequences=[
                N_("notifications_admin.confirm.consequence"),
                N_("notifications_admin.confirm.uncertain")
                if uncertain
                else N_("notifications_admin.confirm.dead"),
            ],
            submit=N_("notifications_admin.confirm.submit"),
            cancel_path=EMAILS_PATH,
            params={"kind": t(kind.label_key) if kind is not None else email.kind},
        )
        if answer(data.form, question) is not Answer.CONFIRMED:
            return confirmation_page(request, data.form, question)
        await monitoring.resend(
            db_session, principal, notification_id, now=utcnow(), audit=audit_fields(request)
        )
        return see_other(EMAILS_PATH, notice="email_freigegeben")


__all__ = ["EMAILS_PATH", "NotificationAdminPages"]
