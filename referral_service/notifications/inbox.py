"""What a signed-in user does with their own notifications: the list, marking read, the choices per
kind, and the address their e-mails go to.

Every use case here acts on the caller's own rows only: the repository names the caller in the WHERE
clause, so someone else's notification is "not found", never "forbidden" (nothing tells whether it
exists). The kinds a user can choose between come from the caller (the web layer collects the installed
domains' kinds; the kernel names none).

The address is personal data: it is sealed under a data key of its own (`staff_contact`), so that
removing it, or erasing the account, destroys it for good (crypto-shredding) rather than leaving a
readable copy behind. The audit log says only that an address was set or removed and which language
was chosen, never the address. An address applies from the moment it is saved: `notify` decides at
the time of the event whether a row gets an e-mail, so rows written before there was an address stay
without one (sending old events by e-mail later would tell of work that may long be done), and rows
written while there was one keep their e-mail after the address is removed only until the sender
finds no address (it then gives up on them, `no_address`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from crypto import DataKey, KeyDestroyedError
from referral_service.audit.recorder import record_event
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role
from referral_service.keys.fields import erase_fields, open_fields, seal
from referral_service.keys.service import CaseKeys
from referral_service.listing import Page, fetch_page
from referral_service.notifications import repository
from referral_service.notifications.audit_actions import NotificationAuditAction
from referral_service.notifications.kinds import EmailMode, NotificationKind
from referral_service.notifications.models import Notification, NotificationPreference, StaffContact
from referral_service.problems import DomainError, ErrorKind
from referral_service.validation import FieldError, RequestValidationError
from referral_service.values import EMAIL

# The `case_kind` of the data keys that seal staff addresses.
CONTACT_KEY_KIND = "staff_contact"
_AUDIT_TARGET = "user"
_MODES = frozenset(mode.value for mode in EmailMode)


class NotificationNotFoundError(DomainError):
    code = "notification.not_found"
    kind = ErrorKind.NOT_FOUND
    title = "Notification not found"


# The list


async def list_inbox(
    session: AsyncSession, principal: Principal, *, unread_only: bool, after: str | None, limit: int
) -> Page[Notification]:
    """One page of the caller's notifications, newest first (`InvalidCursorError` for a bad cursor)."""
    query = repository.inbox_query(principal.user_id, unread_only=unread_only)
    page: Page[Notification] = await fetch_page(
        session, query, repository.INBOX_ORDER, after=after, limit=limit
    )
    return page


async def unread_count(session: AsyncSession, principal: Principal) -> int:
    return await repository.unread_count(session, principal.user_id)


async def mark_read(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID, *, now: dt.datetime
) -> Notification:
    """Mark one of the caller's notifications read; marking it again keeps the first time."""
    row = await repository.own_notification(session, principal.user_id, notification_id)
    if row is None:
        raise NotificationNotFoundError()
    if row.read_at is None:
        row.read_at = now
        session.add(row)
        await session.flush()
    return row


async def mark_all_read(session: AsyncSession, principal: Principal, *, now: dt.datetime) -> int:
    """Mark every unread notification of the caller read; returns how many there were."""
    return await repository.mark_all_read(session, principal.user_id, now)


# Choices per kind


@dataclass(frozen=True, slots=True)
class Preference:
    """What the caller gets for one kind: their own choice, or their roles' default."""

    kind: NotificationKind
    in_app: bool
    email: EmailMode
    default_email: EmailMode

    @property
    def customised(self) -> bool:
        return not self.in_app or self.email is not self.default_email


@dataclass(frozen=True, slots=True)
class PreferenceChange:
    """One kind's choice as the caller sent it (`email` is checked to be an `EmailMode`)."""

    kind: str
    in_app: bool
    email: str


def receivable_kinds(
    kinds: Sequence[NotificationKind], roles: frozenset[Role]
) -> list[tuple[NotificationKind, EmailMode]]:
    """The kinds a user with `roles` can receive, each with its default e-mail mode, in `kinds`' order.
    A complainant's kinds are e-mails to an address in a case, never a staff member's choice."""
    found = []
    for kind in kinds:
        default = kind.default_email(roles)
        if default is not None and not kind.to_complainant:
            found.append((kind, default))
    return found


async def preferences(
    session: AsyncSession, principal: Principal, kinds: Sequence[NotificationKind]
) -> list[Preference]:
    stored = await repository.preferences_of_user(session, principal.user_id)
    return [
        _effective(kind, default, stored.get(kind.code)) for kind, default in _receivable(kinds, principal)
    ]


async def save_preferences(
    session: AsyncSession,
    principal: Principal,
    kinds: Sequence[NotificationKind],
    changes: Sequence[PreferenceChange],
    *,
    now: dt.datetime,
    audit: Mapping[str, Any],
) -> list[Preference]:
    """Store the caller's choices for the kinds named in `changes` (the others stay as they are).

    Refused as a whole (422, every wrong entry named) when a kind is not one the caller can receive,
    is named twice, or a mode is not an `EmailMode`. A choice equal to the default is stored as no
    choice at all, so that a later change of the default reaches the user."""
    defaults = {kind.code: default for kind, default in _receivable(kinds, principal)}
    if len(changes) > len(defaults):
        # Each kind at most once: more entries than kinds cannot all be right (and would each be named).
        raise RequestValidationError(
            [FieldError("preferences", "value.invalid", "More entries than kinds you can receive")]
        )
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, change in enumerate(changes):
        if change.kind not in defaults or change.kind in seen:
            errors.append(
                FieldError(
                    f"preferences[{index}].kind",
                    "notification.kind_unknown",
                    "Not a kind of notification you can receive, or named twice",
                )
            )
        if change.email not in _MODES:
            errors.append(
                FieldError(
                    f"preferences[{index}].email", "value.invalid", "Expected one of: off, immediate, digest"
                )
            )
        seen.add(change.kind)
    if errors:
        raise RequestValidationError(errors)
    stored = await repository.preferences_of_user(session, principal.user_id)
    changed: list[str] = []
    back_to_default: list[str] = []
    for change in changes:
        mode = EmailMode(change.email)
        row = stored.get(change.kind)
        if change.in_app and mode is defaults[change.kind]:
            if row is not None:
                back_to_default.append(change.kind)
            continue
        if row is not None and row.in_app == change.in_app and row.email == mode.value:
            continue
        if row is None:
            row = NotificationPreference(user_id=principal.user_id, kind=change.kind, email=mode.value)
        row.in_app, row.email, row.updated_at = change.in_app, mode.value, now
        session.add(row)
        changed.append(change.kind)
    await repository.delete_preferences(session, principal.user_id, back_to_default)
    await session.flush()
    if changed or back_to_default:
        await record_event(
            session,
            action=NotificationAuditAction.PREFERENCES_UPDATE,
            actor=principal.actor,
            target_type=_AUDIT_TARGET,
            target_id=str(principal.user_id),
            details={"kinds": sorted([*changed, *back_to_default])},
            **audit,
        )
    return await preferences(session, principal, kinds)


async def reset_preferences(
    session: AsyncSession,
    principal: Principal,
    kinds: Sequence[NotificationKind],
    *,
    audit: Mapping[str, Any],
) -> list[Preference]:
    """Forget every choice of the caller: their roles' defaults apply to every kind again."""
    stored = await repository.preferences_of_user(session, principal.user_id)
    if stored:
        await repository.delete_preferences(session, principal.user_id)
        await record_event(
            session,
            action=NotificationAuditAction.PREFERENCES_UPDATE,
            actor=principal.actor,
            target_type=_AUDIT_TARGET,
            target_id=str(principal.user_id),
            details={"kinds": sorted(stored), "reset": True},
            **audit,
        )
    return await preferences(session, principal, kinds)


def _receivable(
    kinds: Sequence[NotificationKind], principal: Principal
) -> list[tuple[NotificationKind, EmailMode]]:
    return receivable_kinds(kinds, principal.roles)


def _effective(kind: NotificationKind, default: EmailMode, row: NotificationPreference | None) -> Preference:
    if row is None:
        return Preference(kind=kind, in_app=True, email=default, default_email=default)
    return Preference(kind=kind, in_app=row.in_app, email=EmailMode(row.email), default_email=default)


# The address for e-mails


@dataclass(frozen=True, slots=True)
class Contact:
    """The caller's own address (decrypted for them alone) and the language of their e-mails."""

    email: str | None
    language: str


def normalise_email(text: str) -> str:
    """The address as stored: without surrounding space, the domain in lower case (domains are not
    case-sensitive; the part before the @ may be, so it stays as typed)."""
    local, at, domain = text.strip().rpartition("@")
    return f"{local}{at}{domain.lower()}" if at else text.strip()


def contact_errors(email: str | None, language: str, languages: Collection[str]) -> list[FieldError]:
    errors = []
    if email is not None and not EMAIL.accepts(email):
        errors.append(FieldError("email", EMAIL.code, "Expected an e-mail address such as name@example.de"))
    if language not in languages:
        errors.append(FieldError("language", "value.invalid", f"Expected one of: {', '.join(languages)}"))
    return errors


async def contact(
    session: AsyncSession, principal: Principal, keys: CaseKeys, *, default_language: str
) -> Contact:
    """The caller's address, decrypted for the caller (their own data: not an audited read)."""
    row = await repository.contact_of(session, principal.user_id)
    if row is None:
        return Contact(email=None, language=default_language)
    return Contact(email=await _open_email(session, row, keys), language=row.language)


async def save_contact(
    session: AsyncSession,
    principal: Principal,
    keys: CaseKeys,
    *,
    email: str | None,
    language: str,
    languages: Collection[str],
    now: dt.datetime,
    audit: Mapping[str, Any],
) -> Contact:
    """Set the caller's address (None: no address) and e-mail language. The address is checked and
    normalised; a wrong one or an unknown language is refused (422) before anything is written."""
    address = normalise_email(email) if email is not None and email.strip() else None
    errors = contact_errors(address, language, languages)
    if errors:
        raise RequestValidationError(errors)
    row = await repository.contact_of(session, principal.user_id)
    had_address = row is not None and row.email is not None
    if row is None:
        row = StaffContact(user_id=principal.user_id, language=language)
    if address is None:
        await _erase_email(session, row, keys)
    else:
        seal(row, await _live_key(session, row, keys), email=address)
    row.language, row.updated_at = language, now
    session.add(row)
    await session.flush()
    state = "set" if address is not None else ("removed" if had_address else "none")
    await _audit_contact(session, principal, state, language, audit)
    return Contact(email=address, language=language)


async def remove_contact(
    session: AsyncSession,
    principal: Principal,
    keys: CaseKeys,
    *,
    default_language: str,
    now: dt.datetime,
    audit: Mapping[str, Any],
) -> Contact:
    """Remove the caller's address for good (its key is destroyed); the language stays."""
    row = await repository.contact_of(session, principal.user_id)
    if row is None:
        return Contact(email=None, language=default_language)
    if row.email is not None:
        await _erase_email(session, row, keys)
        row.updated_at = now
        session.add(row)
        await session.flush()
        await _audit_contact(session, principal, "removed", row.language, audit)
    return Contact(email=None, language=row.language)


async def _live_key(session: AsyncSession, row: StaffContact, keys: CaseKeys) -> DataKey:
    """The row's data key; a new one when it has none or its key was destroyed (address removed)."""
    if row.data_key_id is not None:
        try:
            return await keys.get(session, row.data_key_id)
        except KeyDestroyedError:
            pass
    key = await keys.create(session, CONTACT_KEY_KIND)
    # The destroyed key's id goes; `seal` ties the row to the new key.
    row.data_key_id = None
    return key


async def _erase_email(session: AsyncSession, row: StaffContact, keys: CaseKeys) -> None:
    if row.data_key_id is not None:
        await keys.destroy(session, row.data_key_id)
    erase_fields(row)


async def _open_email(session: AsyncSession, row: StaffContact, keys: CaseKeys) -> str | None:
    if row.email is None or row.data_key_id is None:
        return None
    try:
        key = await keys.get(session, row.data_key_id)
    except KeyDestroyedError:
        return None
    return open_fields(row, key, ["email"])["email"]


async def _audit_contact(
    session: AsyncSession, principal: Principal, email_state: str, language: str, audit: Mapping[str, Any]
) -> None:
    await record_event(
        session,
        action=NotificationAuditAction.CONTACT_UPDATE,
        actor=principal.actor,
        target_type=_AUDIT_TARGET,
        target_id=str(principal.user_id),
        # Never the address: only whether there is one now, and the language chosen.
        details={"email": email_state, "language": language},
        **audit,
    )
