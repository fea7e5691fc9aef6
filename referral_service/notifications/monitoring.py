"""The administrators' view of the e-mails: which failed for good or may have gone out (`dead`,
`uncertain`), and "send again" for one of them. The counts by state come from
`delivery.delivery_summary`, the release itself from `delivery.release`; this module adds what an
administrator may see of a row and the audit of their decision.

Administrators keep the service running but see no case content, and must not even learn which cases
exist or who is involved in one: a reference ("BS-2026-000123") tells that a complaint exists, the
link holds the case's id, an address is the complainant's or a colleague's personal data. So a failed
e-mail is shown by its time, kind, state, attempts and error code, and its recipient by their account
name or as "the complainant" only; `FailedEmail` carries nothing else, so no page or API built on it
can show more. That is enough to act on: "refused" for many rows points at the mail server, "no
address" at one colleague who should enter theirs.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.recorder import record_event
from referral_service.identity.models import User
from referral_service.identity.principal import Principal
from referral_service.listing import Keyset, Page, SortKey, fetch_page
from referral_service.notifications.audit_actions import NotificationAuditAction
from referral_service.notifications.delivery import release
from referral_service.notifications.inbox import NotificationNotFoundError
from referral_service.notifications.models import EmailState, Notification
from referral_service.problems import DomainError, ErrorKind

# The states an administrator can release: given up, or perhaps sent.
FAILED_STATES = (EmailState.DEAD, EmailState.UNCERTAIN)
_AUDIT_TARGET = "notification"

# Newest first: what failed last is what is being asked about.
FAILED_ORDER = Keyset(
    SortKey(col(Notification.created_at), "created_at", dt.datetime, descending=True),
    SortKey(col(Notification.id), "id", uuid.UUID, descending=True),
)


class EmailNotReleasableError(DomainError):
    code = "notification.not_releasable"
    kind = ErrorKind.CONFLICT
    title = "Only an e-mail that failed or may have gone out can be sent again"


@dataclass(frozen=True, slots=True)
class FailedEmail:
    """What an administrator sees of a failed e-mail: no reference, link, case or address."""

    id: uuid.UUID
    created_at: dt.datetime
    # `NotificationKind.code`; the page names it.
    kind: str
    state: EmailState
    attempts: int
    # `FailureCode` ("refused", "no_address", ...), our code, never the server's text.
    error: str | None
    # The staff member's account name; None for a complainant, who has no account.
    recipient_username: str | None


async def failed_emails(session: AsyncSession, *, after: str | None, limit: int) -> Page[FailedEmail]:
    """One page of the dead and uncertain e-mails, newest first (`InvalidCursorError` for a bad cursor).
    Few rows are ever in these states, so the state index finds them and the sort is cheap."""
    query: Any = select(Notification).where(col(Notification.email_state).in_(FAILED_STATES))
    found: Page[Notification] = await fetch_page(session, query, FAILED_ORDER, after=after, limit=limit)
    names = await _usernames(session, {row.recipient_user_id for row in found.items})
    return Page(items=[_failed(row, names) for row in found.items], next_cursor=found.next_cursor)


async def failed_email(session: AsyncSession, notification_id: uuid.UUID) -> FailedEmail:
    """One e-mail that may be sent again (to ask before doing it): `NotificationNotFoundError` for no
    such row, `EmailNotReleasableError` for one in another state."""
    row = await _releasable(session, notification_id, lock=False)
    return _failed(row, await _usernames(session, {row.recipient_user_id}))


async def resend(
    session: AsyncSession,
    principal: Principal,
    notification_id: uuid.UUID,
    *,
    now: dt.datetime,
    audit: Mapping[str, Any],
) -> None:
    """Release a dead or uncertain e-mail for the next run, with every attempt again, and record who
    decided it. The row is locked first (PostgreSQL; SQLite's writers queue anyway): a sender that
    reports back late on an uncertain row, or a second administrator, then either finished before
    (the row is no longer releasable: 409) or finds the claim gone and changes nothing."""
    row = await _releasable(session, notification_id, lock=True)
    previous = row.email_state
    await release(session, notification_id, now)
    await record_event(
        session,
        action=NotificationAuditAction.EMAIL_RESEND,
        actor=principal.actor,
        target_type=_AUDIT_TARGET,
        target_id=str(notification_id),
        # The kind and the state it left, never the case: the notification's id leads to nothing more.
        details={"kind": row.kind, "from_state": previous},
        **audit,
    )


async def _releasable(session: AsyncSession, notification_id: uuid.UUID, *, lock: bool) -> Notification:
    stmt = select(Notification).where(col(Notification.id) == notification_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.exec(stmt)).first()
    if row is None:
        raise NotificationNotFoundError()
    if row.email_state not in FAILED_STATES:
        raise EmailNotReleasableError()
    return row


async def _usernames(session: AsyncSession, user_ids: set[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = [user_id for user_id in user_ids if user_id is not None]
    if not wanted:
        return {}
    stmt = select(User.id, User.username).where(col(User.id).in_(wanted))
    return {user_id: username for user_id, username in (await session.exec(stmt)).all()}


def _failed(row: Notification, names: Mapping[uuid.UUID, str]) -> FailedEmail:
    recipient = row.recipient_user_id
    return FailedEmail(
        id=row.id,
        created_at=row.created_at,
        kind=row.kind,
        state=EmailState(row.email_state),
        attempts=row.email_attempts,
        error=row.email_error,
        # The foreign key keeps the account as long as its notifications.
        recipient_username=names[recipient] if recipient is not None else None,
    )
