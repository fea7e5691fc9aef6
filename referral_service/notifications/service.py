"""Writing notifications: the one call a domain makes when something happens that someone must know.

The domain chooses the recipients by the case's scope (the users who can open the case's page) and
calls `notify` in the transaction of the change; this module applies each recipient's preferences
(or their roles' defaults), leaves out whoever cannot receive the kind, and writes the rows. What
a notification says is fixed by its kind: the values here are checked to be a reference and a path,
so no free text (a name, a description) can ride along into a list or an e-mail.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity import repository as identity_repository
from referral_service.notifications import repository
from referral_service.notifications.kinds import EmailMode, NotificationKind
from referral_service.notifications.models import EmailState, Notification

# Case references are upper-case letters, digits and hyphens ("VM-2026-00012", "BS-2026-00003").
_REFERENCE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,31}")
# Paths of pages, without a query: ids and words, never a value somebody typed.
_LINK = re.compile(r"(/[A-Za-z0-9_-]+)+")
DEFAULT_LANGUAGE = "de"

users_holding = repository.users_holding


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One event about one case: what every recipient is told."""

    kind: NotificationKind
    subject_id: uuid.UUID
    reference: str
    # The page that shows the case (or the list it waits in) to the recipient.
    link: str
    deadline: dt.date | None = None
    # Written once per recipient and key, however often the event is noticed (a reminder for one
    # deadline, one escalation step); None: every call writes.
    dedupe: str | None = None

    def __post_init__(self) -> None:
        if not _REFERENCE.fullmatch(self.reference):
            raise ValueError("a notification's reference must be a case reference")
        if not _LINK.fullmatch(self.link) or len(self.link) > 200:
            raise ValueError("a notification's link must be a plain page path")
        if self.dedupe is not None and len(self.dedupe) > 90:
            raise ValueError("dedupe key too long")


async def notify(
    session: AsyncSession,
    occurrence: Occurrence,
    recipients: Iterable[uuid.UUID],
    *,
    now: dt.datetime,
    actor_id: uuid.UUID | None = None,
) -> list[Notification]:
    """Write the event's notifications for `recipients` in the caller's transaction.

    Left out: the actor (nobody is told about their own step), inactive users, users none of whose
    roles receives the kind, users who turned both channels off, and recipients already notified
    under the occurrence's dedupe key. Returns the rows written.
    """
    wanted = [user_id for user_id in dict.fromkeys(recipients) if user_id != actor_id]
    active = await repository.active_users(session, wanted)
    wanted = [user_id for user_id in wanted if user_id in active]
    if not wanted:
        return []
    kind = occurrence.kind
    roles = await identity_repository.roles_of_many(session, wanted)
    preferences = await repository.preferences_of(session, wanted, kind.code)
    contacts = await repository.contacts_of(session, wanted)
    keys = {user_id: _dedupe_key(occurrence, user_id) for user_id in wanted}
    taken = await repository.taken_dedupe_keys(session, [key for key in keys.values() if key])
    rows: list[Notification] = []
    for user_id in wanted:
        default = kind.default_email(frozenset(roles.get(user_id, set())))
        if default is None or (keys[user_id] is not None and keys[user_id] in taken):
            continue
        preference = preferences.get(user_id)
        in_app = preference.in_app if preference else True
        mode = EmailMode(preference.email) if preference else default
        contact = contacts.get(user_id)
        if contact is None or contact.email is None:
            mode = EmailMode.OFF
        if not in_app and mode is EmailMode.OFF:
            continue
        rows.append(
            _row(
                occurrence,
                recipient=user_id,
                in_app=in_app,
                state=_STATE_OF[mode],
                language=contact.language if contact else DEFAULT_LANGUAGE,
                dedupe_key=keys[user_id],
                now=now,
            )
        )
    await repository.add(session, rows)
    return rows


async def notify_complainant(
    session: AsyncSession, occurrence: Occurrence, *, language: str, now: dt.datetime
) -> Notification | None:
    """An e-mail to the complainant of `occurrence.subject_id`, whose address the sender reads from
    the case (the domain's `contact_address`) when it sends; nothing for a repeated dedupe key."""
    if not occurrence.kind.to_complainant:
        raise ValueError(f"{occurrence.kind.code} is not a kind for complainants")
    key = _dedupe_key(occurrence, None)
    if key is not None and await repository.taken_dedupe_keys(session, [key]):
        return None
    row = _row(
        occurrence,
        recipient=None,
        in_app=False,
        state=EmailState.PENDING,
        language=language,
        dedupe_key=key,
        now=now,
    )
    await repository.add(session, [row])
    return row


_STATE_OF = {
    EmailMode.OFF: EmailState.NONE,
    EmailMode.IMMEDIATE: EmailState.PENDING,
    EmailMode.DIGEST: EmailState.DIGEST,
}


def _dedupe_key(occurrence: Occurrence, user_id: uuid.UUID | None) -> str | None:
    if occurrence.dedupe is None:
        return None
    return f"{occurrence.kind.code}:{occurrence.dedupe}:{user_id or 'complainant'}"


def _row(
    occurrence: Occurrence,
    *,
    recipient: uuid.UUID | None,
    in_app: bool,
    state: EmailState,
    language: str,
    dedupe_key: str | None,
    now: dt.datetime,
) -> Notification:
    return Notification(
        kind=occurrence.kind.code,
        recipient_user_id=recipient,
        subject_id=occurrence.subject_id,
        reference=occurrence.reference,
        link=occurrence.link,
        deadline=occurrence.deadline,
        created_at=now,
        in_app=in_app,
        dedupe_key=dedupe_key,
        email_state=state,
        language=language,
        email_next_at=now if state is EmailState.PENDING else None,
    )
