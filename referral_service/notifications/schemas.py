"""Request and response types of the notifications API (msgspec; request types refuse unknown fields).

A notification carries what every list entry and e-mail carries, nothing more: the kind, its name in
the caller's language, the case's reference, a deadline and the path of the page.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from referral_service.notifications.kinds import EmailMode
from referral_service.values import Email

KindCode = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
LanguageCode = Annotated[str, msgspec.Meta(min_length=2, max_length=8, description="`de` or `en`")]


class _Request(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class NotificationOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    # `NotificationKind.code`, e.g. "referrals.assigned".
    kind: str
    # The event's name in the caller's language (the language chosen on the pages, else German).
    label: str
    reference: str
    # The page that shows the case, a path on this service.
    link: str
    deadline: dt.date | None
    created_at: dt.datetime
    read: bool
    read_at: dt.datetime | None


class UnreadCount(msgspec.Struct, kw_only=True):
    unread: int


class MarkedRead(msgspec.Struct, kw_only=True):
    # How many notifications were unread and are now read.
    marked: int


class PreferenceOut(msgspec.Struct, kw_only=True):
    kind: str
    label: str
    # Shown in the list of notifications.
    in_app: bool
    email: EmailMode
    # What the caller's roles get when they choose nothing.
    default_email: EmailMode
    # The choice differs from the default (in-app off, or another e-mail mode).
    customised: bool


class PreferenceIn(_Request):
    kind: KindCode
    in_app: bool
    email: EmailMode


class PreferencesUpdate(_Request):
    # The kinds to change; kinds not named keep their choice. 422 for a kind the caller cannot receive.
    preferences: list[PreferenceIn]


class ContactOut(msgspec.Struct, kw_only=True):
    # The caller's own address (only ever shown to them); None: no e-mails are sent.
    email: str | None
    language: str


class ContactUpdate(_Request):
    # None: no address (as DELETE). The domain is stored in lower case.
    email: Email | None = None
    language: LanguageCode = "de"
