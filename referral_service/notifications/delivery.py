"""Sending notification e-mails: from the outbox rows to the SMTP server, each at most once.

A row's e-mail state (`EmailState`):

    pending --claim--> sending --the server took it--> sent
    digest  --claim, once a day, with the user's other digest rows--> sending --> sent (together)
    sending --temporary failure--> pending / digest again, attempts + 1, at the next backoff step;
              at the last attempt (REFERRAL_NOTIFY_MAX_ATTEMPTS) --> dead
    sending --refused for good (5xx), no address, unknown kind--> dead
    sending --the sender never reported back (SENDING_LIMIT)--> uncertain
    dead / uncertain --`release` (an administrator)--> pending, attempts from zero

A run (`send_due`) works in three steps, so that no transaction is open while the SMTP server is
talked to: (1) a short transaction under the job's leadership claims a batch of due rows (state
`sending`, `email_claimed_at`), reads each recipient's address (audited) and composes the messages;
(2) each message is handed to the mailer outside any transaction; (3) a short transaction per message
records the result, conditional on the claim. A sender that stops between (1) and (3) leaves rows
`sending`; after `SENDING_LIMIT` they become `uncertain` and are never sent again automatically,
because they may have been: a second e-mail about a case is worse than a missing one that the
administrators' page shows and can release. Runs end well within that limit (`SEND_BUDGET_SECONDS`),
handing back what they did not start.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from crypto import DecryptionError, KeyDestroyedError
from referral_service.audit.recorder import SYSTEM, record_event
from referral_service.db import create_session_factory
from referral_service.keys.fields import open_fields
from referral_service.keys.service import CaseKeys
from referral_service.leadership import take_leadership
from referral_service.logging import exception_fields, get_logger
from referral_service.notifications import repository
from referral_service.notifications.audit_actions import NotificationAuditAction
from referral_service.notifications.config import NotificationConfig
from referral_service.notifications.kinds import NotificationKind
from referral_service.notifications.models import EmailState, Notification
from referral_service.notifications.render import (
    Catalogue,
    Item,
    Rendered,
    compose,
    render_digest,
    render_one,
)
from referral_service.notifications.smtp import DeliveryFailure, FailureCode, Mailer
from referral_service.settings import LOCAL_TIMEZONE

# The leadership key: one instance claims at a time.
JOB = "notifications.send"
SEND_INTERVAL_SECONDS = 15.0
BATCH_SIZE = 50
# A run starts no new message after this long (each SMTP step has its own timeout on top)...
SEND_BUDGET_SECONDS = 300.0
# ...so a row still `sending` after this long belongs to a sender that stopped.
SENDING_LIMIT = dt.timedelta(minutes=30)
# Waits after the 1st, 2nd, 3rd failed attempt, then hourly.
BACKOFF_MINUTES = (1, 5, 15, 60)

log = get_logger(__name__)

ContactAddress = Callable[[AsyncSession, CaseKeys, uuid.UUID], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a sender needs; built once per application or command (`app.notification_delivery`)."""

    engine: AsyncEngine
    case_keys: CaseKeys
    config: NotificationConfig
    mailer: Mailer
    catalogue: Catalogue
    # Every installed kind by its code.
    kinds: Mapping[str, NotificationKind]
    # For each kind sent to complainants, its domain's `contact_address`.
    complainant_addresses: Mapping[str, ContactAddress]


@dataclass
class SendRun:
    """What one run did, counted in notifications (a digest counts each of its rows)."""

    sent: int = 0
    # Failed for now, tried again later.
    retried: int = 0
    dead: int = 0
    uncertain: int = 0
    # Another instance was sending: this one did nothing.
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class DeliverySummary:
    """The outbox at a glance, for the administrators' page."""

    pending: int
    digest: int
    sending: int
    sent: int
    dead: int
    uncertain: int
    # How long the oldest e-mail waiting to be sent has waited since its event; None when none waits.
    oldest_pending_age: dt.timedelta | None


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt."""
    return dt.timedelta(minutes=BACKOFF_MINUTES[min(attempts, len(BACKOFF_MINUTES)) - 1])


def digest_cutoff(now: dt.datetime, hour: int) -> dt.datetime:
    """The last digest time (`hour` o'clock in Germany) at or before `now`: the digest sent then holds
    every digest row written before it. Nothing is stored about past digests: a row is in the digest
    of the first run after the first digest time after its event."""
    local = now.astimezone(LOCAL_TIMEZONE)
    moment = dt.datetime.combine(local.date(), dt.time(hour), tzinfo=LOCAL_TIMEZONE)
    if moment > local:
        moment = dt.datetime.combine(
            local.date() - dt.timedelta(days=1), dt.time(hour), tzinfo=LOCAL_TIMEZONE
        )
    return moment.astimezone(dt.UTC)


async def send_due(
    delivery: Delivery,
    *,
    now: dt.datetime,
    batch_size: int = BATCH_SIZE,
    budget_seconds: float = SEND_BUDGET_SECONDS,
) -> SendRun:
    """Send every e-mail due at `now` (the periodic job and `referral-service notifications send`),
    batch by batch, starting no message after `budget_seconds`."""
    run = SendRun()
    deadline = time.monotonic() + budget_seconds
    while True:
        claimed = await _claim(delivery, now, batch_size, run)
        if claimed is None:
            run.skipped = True
            return run
        outgoing, full = claimed
        try:
            stopped = await _send_batch(delivery, outgoing, now, run, deadline)
        finally:
            await delivery.mailer.close()
        if stopped or not full or time.monotonic() >= deadline:
            return run


async def delivery_summary(session: AsyncSession, now: dt.datetime) -> DeliverySummary:
    counts = await repository.count_by_state(session)
    oldest = await repository.oldest_pending(session)
    return DeliverySummary(
        pending=counts.get(EmailState.PENDING, 0),
        digest=counts.get(EmailState.DIGEST, 0),
        sending=counts.get(EmailState.SENDING, 0),
        sent=counts.get(EmailState.SENT, 0),
        dead=counts.get(EmailState.DEAD, 0),
        uncertain=counts.get(EmailState.UNCERTAIN, 0),
        oldest_pending_age=max(now - oldest, dt.timedelta(0)) if oldest is not None else None,
    )


async def release(session: AsyncSession, notification_id: uuid.UUID, now: dt.datetime) -> Notification | None:
    """A dead or uncertain e-mail goes out once more with the next run, with every attempt again (an
    administrator's decision; the caller records it in the audit log). None when there is no such row
    or it is in another state."""
    row = await session.get(Notification, notification_id)
    if row is None or row.email_state not in (EmailState.DEAD, EmailState.UNCERTAIN):
        return None
    row.email_state = EmailState.PENDING
    row.email_attempts = 0
    row.email_next_at = now
    row.email_claimed_at = None
    row.email_error = None
    session.add(row)
    await session.flush()
    return row


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: uuid.UUID
    attempts: int
    # Where a temporary failure sends it back: `pending` or `digest`.
    waiting_state: str


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """One composed e-mail and the rows it stands for."""

    rows: tuple[_Claimed, ...]
    claimed_at: dt.datetime
    recipient: str
    message: EmailMessage


async def _claim(
    delivery: Delivery, now: dt.datetime, batch_size: int, run: SendRun
) -> tuple[list[_Outgoing], bool] | None:
    """Claim what is due and compose it; None when another instance leads. The flag says whether the
    batch was full (more may be due)."""
    async with create_session_factory(delivery.engine)() as session, session.begin():
        if not await take_leadership(session, JOB):
            return None
        run.uncertain += await repository.abandon(
            session, claimed_before=now - SENDING_LIMIT, error=FailureCode.INTERRUPTED
        )
        pending = await repository.due_pending(session, now, batch_size)
        cutoff = digest_cutoff(now, delivery.config.digest_hour)
        digests = await repository.due_digests(session, created_before=cutoff, now=now, recipients=batch_size)
        groups: list[list[Notification]] = [[row] for row in pending]
        for row in digests:
            if groups[len(pending) :] and groups[-1][0].recipient_user_id == row.recipient_user_id:
                groups[-1].append(row)
            else:
                groups.append([row])
        outgoing = []
        for group in groups:
            composed = await _compose(session, delivery, group, now=now, day=cutoff, run=run)
            if composed is not None:
                outgoing.append(composed)
        return outgoing, len(pending) == batch_size or len(groups) - len(pending) == batch_size


async def _compose(
    session: AsyncSession,
    delivery: Delivery,
    group: list[Notification],
    *,
    now: dt.datetime,
    day: dt.datetime,
    run: SendRun,
) -> _Outgoing | None:
    """Claim the group's rows and compose their e-mail. Rows that can never be sent die here, one by
    one: a single bad row must not hold up the queue by failing every claim."""
    known = []
    for row in group:
        if row.kind in delivery.kinds:
            known.append(row)
        else:
            _bury([row], FailureCode.UNKNOWN_KIND, run)
    if not known:
        return None
    try:
        rendered, local_part = _render(delivery, known, day)
    except KeyError:
        # The kind's texts are missing from the catalogues: as good as an unknown kind.
        _bury(known, FailureCode.UNKNOWN_KIND, run)
        return None
    address = await _address(session, delivery, known)
    if address is None:
        _bury(known, FailureCode.NO_ADDRESS, run)
        return None
    config = delivery.config
    try:
        message = compose(
            rendered,
            sender=config.sender,
            recipient=address,
            message_id=f"<{local_part}@{config.message_id_domain}>",
            date=now,
        )
    except ValueError:
        # An address no header can carry (a line break in it) is no address to send to.
        _bury(known, FailureCode.NO_ADDRESS, run)
        return None
    claimed = tuple(_Claimed(row.id, row.email_attempts, row.email_state) for row in known)
    for row in known:
        row.email_state = EmailState.SENDING
        row.email_claimed_at = now
        session.add(row)
    return _Outgoing(rows=claimed, claimed_at=now, recipient=address, message=message)


def _render(delivery: Delivery, rows: list[Notification], day: dt.datetime) -> tuple[Rendered, str]:
    """The rows' e-mail and the left part of its Message-ID (the same for every attempt)."""
    config = delivery.config
    items = [Item(delivery.kinds[row.kind], row.reference, row.deadline, row.link) for row in rows]
    # The newest row's language: the one the recipient chose last.
    language = rows[-1].language
    if rows[0].email_state == EmailState.DIGEST:
        rendered = render_digest(
            items,
            day=day.astimezone(LOCAL_TIMEZONE).date(),
            language=language,
            public_url=config.public_url,
            catalogue=delivery.catalogue,
        )
        ids = ",".join(sorted(str(row.id) for row in rows))
        return rendered, f"digest.{uuid.uuid5(uuid.NAMESPACE_OID, ids)}"
    rendered = render_one(
        items[0], language=language, public_url=config.public_url, catalogue=delivery.catalogue
    )
    return rendered, str(rows[0].id)


def _bury(rows: list[Notification], code: FailureCode, run: SendRun) -> None:
    for row in rows:
        row.email_state = EmailState.DEAD
        row.email_error = code
        row.email_next_at = None
        run.dead += 1


async def _address(session: AsyncSession, delivery: Delivery, rows: list[Notification]) -> str | None:
    """The recipient's address, decrypted now and audited; None when there is none to use."""
    first = rows[0]
    if first.recipient_user_id is None:
        recipient = "complainant"
        hook = delivery.complainant_addresses.get(first.kind)
        address = await hook(session, delivery.case_keys, first.subject_id) if hook is not None else None
    else:
        recipient = "staff"
        address = await _staff_address(session, delivery.case_keys, first.recipient_user_id)
    if address is not None:
        details: dict[str, object] = {"recipient": recipient}
        if len(rows) == 1:
            details["kind"] = first.kind
        else:
            details["kind"] = sorted({row.kind for row in rows})
            details["digest"] = [str(row.id) for row in rows]
        await record_event(
            session,
            action=NotificationAuditAction.ADDRESS_READ,
            actor=SYSTEM,
            target_type="notification",
            target_id=str(first.id),
            details=details,
        )
    return address


async def _staff_address(session: AsyncSession, keys: CaseKeys, user_id: uuid.UUID) -> str | None:
    # Someone who left (deactivated) gets no more e-mails about cases, whatever is queued.
    if user_id not in await repository.active_users(session, [user_id]):
        return None
    contact = (await repository.contacts_of(session, [user_id])).get(user_id)
    if contact is None or contact.email is None or contact.data_key_id is None:
        return None
    try:
        key = await keys.get(session, contact.data_key_id)
        return open_fields(contact, key, ["email"])["email"]
    except (KeyDestroyedError, DecryptionError):
        return None


async def _send_batch(
    delivery: Delivery, outgoing: Sequence[_Outgoing], now: dt.datetime, run: SendRun, deadline: float
) -> bool:
    """Send and record each message; True when the run must stop (the server is failing, or the
    budget is spent)."""
    for index, message in enumerate(outgoing):
        if time.monotonic() >= deadline:
            await _hand_back(delivery, outgoing[index:])
            return True
        try:
            await delivery.mailer.send(message.message, message.recipient)
        except DeliveryFailure as failure:
            if failure.server_wide:
                # The next messages would fail alike: each counts this attempt, none waits for a timeout.
                for rest in outgoing[index:]:
                    await _record(delivery, rest, failure, now, run)
                return True
            await _record(delivery, message, failure, now, run)
        except Exception as exc:
            # Not a failure the mailer knows: whether the server took the message is unknown, so it is
            # uncertain now rather than after SENDING_LIMIT, and the rest of the batch goes on.
            log.error("notifications.send_failed", **exception_fields(exc))
            await delivery.mailer.close()
            await _record_uncertain(delivery, message, run)
        else:
            await _record(delivery, message, None, now, run)
    return False


async def _record(
    delivery: Delivery, message: _Outgoing, failure: DeliveryFailure | None, now: dt.datetime, run: SendRun
) -> None:
    async with create_session_factory(delivery.engine)() as session, session.begin():
        if failure is None:
            run.sent += await repository.finish(
                session,
                [row.id for row in message.rows],
                claimed_at=message.claimed_at,
                email_state=EmailState.SENT,
                email_sent_at=now,
                email_error=None,
            )
            return
        for row in message.rows:
            attempts = row.attempts + 1
            dead = failure.permanent or attempts >= delivery.config.max_attempts
            changed = await repository.finish(
                session,
                [row.id],
                claimed_at=message.claimed_at,
                email_state=EmailState.DEAD if dead else row.waiting_state,
                email_attempts=attempts,
                email_next_at=None if dead else now + backoff(attempts),
                email_error=failure.code,
            )
            if dead:
                run.dead += changed
            else:
                run.retried += changed


async def _record_uncertain(delivery: Delivery, message: _Outgoing, run: SendRun) -> None:
    async with create_session_factory(delivery.engine)() as session, session.begin():
        run.uncertain += await repository.finish(
            session,
            [row.id for row in message.rows],
            claimed_at=message.claimed_at,
            email_state=EmailState.UNCERTAIN,
            email_error=FailureCode.INTERRUPTED,
        )


async def _hand_back(delivery: Delivery, outgoing: Sequence[_Outgoing]) -> None:
    """Rows claimed but not tried go back as they were, without an attempt counted."""
    async with create_session_factory(delivery.engine)() as session, session.begin():
        for message in outgoing:
            for row in message.rows:
                await repository.finish(
                    session, [row.id], claimed_at=message.claimed_at, email_state=row.waiting_state
                )
