"""Notification tables: the outbox (one row per recipient and event), preferences, staff addresses.

A notification row is written in the transaction of the change that causes it, so it exists exactly
when the change does (transactional outbox). It holds no personal data and no case content: the
event's kind, the case's reference, a deadline and the path of the page. The e-mail state machine
lives on the same row (see `delivery.py`); a complainant's address stays in the complaint, encrypted,
and is decrypted only by the sender.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from referral_service.db import UTCDateTime, utcnow
from referral_service.keys.fields import EncryptedRecord, encrypted_field


class EmailState(StrEnum):
    # No e-mail for this row (the recipient does not want one, or has no address).
    NONE = "none"
    # Waiting for the sender (again after a failed attempt, at `email_next_at`).
    PENDING = "pending"
    # Waiting for the recipient's daily digest.
    DIGEST = "digest"
    # Claimed by a sender that is handing it to the SMTP server.
    SENDING = "sending"
    SENT = "sent"
    # Given up after the last attempt, or refused for good (no address, address refused): a dead letter.
    DEAD = "dead"
    # A sender claimed it and never reported back (it stopped mid-send): perhaps sent. Never sent again
    # automatically, so that nobody gets a message twice; shown to administrators.
    UNCERTAIN = "uncertain"


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (
        # The user's list, newest first, and the unread count.
        Index("ix_notifications_recipient_time", "recipient_user_id", "created_at", "id"),
        # The sender's queue: due rows of one state.
        Index("ix_notifications_email_due", "email_state", "email_next_at"),
        # Erasure of a case's notifications with the case.
        Index("ix_notifications_subject_id", "subject_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # The event's kind (`NotificationKind.code`, "referrals.assigned").
    kind: str = Field(max_length=64)
    # A staff user; None for a complainant, who is reached by e-mail only, at the address in the case.
    recipient_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    # The case (referral, complaint) the event is about: for the complainant's address, for erasure.
    subject_id: uuid.UUID
    # What the recipient is shown: the case's reference, a deadline, the page's path.
    reference: str = Field(max_length=32)
    link: str = Field(max_length=200)
    deadline: dt.date | None = None
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # In the user's in-app list (False: e-mail only).
    in_app: bool = True
    read_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # At most one notification per key: a reminder for one deadline, one escalation step.
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)

    email_state: str = Field(default=EmailState.NONE, max_length=16)
    # Language of the e-mail, fixed when the row is written.
    language: str = Field(default="de", max_length=8)
    email_attempts: int = 0
    email_next_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    email_claimed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    email_sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A code of ours ("refused", "unreachable", "dropped", "no_address"), never the server's text.
    email_error: str | None = Field(default=None, max_length=32)


class NotificationPreference(SQLModel, table=True):
    """A user's choice for one kind; without a row, the kind's default for the user's roles applies."""

    __tablename__ = "notification_preferences"

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True)
    kind: str = Field(max_length=64, primary_key=True)
    in_app: bool = True
    # `EmailMode`: "off", "immediate" or "digest".
    email: str = Field(max_length=16)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StaffContact(EncryptedRecord, table=True):
    """A staff member's address for notifications (encrypted under a data key of its own, so that it
    is erased with the account), and the language of their e-mails."""

    __tablename__ = "staff_contacts"

    user_id: uuid.UUID = Field(foreign_key="users.id", unique=True)
    email: bytes | None = encrypted_field()
    language: str = Field(default="de", max_length=8)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
