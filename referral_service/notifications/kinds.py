"""The kinds of notification a domain declares: who may get them, and what each role gets by default.

The kernel knows no event of its own; each domain lists its kinds on its `Domain` (`notifications`),
and the preferences page, the rendering and the sender take them from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from referral_service.identity.roles import Role


class EmailMode(StrEnum):
    OFF = "off"
    IMMEDIATE = "immediate"
    DIGEST = "digest"


@dataclass(frozen=True, slots=True)
class NotificationKind:
    # "<domain>.<event>", stored on every notification row.
    code: str
    # Catalogue key of the event's name; the catalogues hold "<label_key>" (the list and the preferences
    # page: "New referral in your branch") and "<label_key>.subject" (the e-mail's subject line, which
    # gets {reference}). Nothing else varies between kinds, so no kind can put case content in a message.
    label_key: str
    # The roles that can receive it, each with its default e-mail mode (the in-app list is on by default).
    # A user whose roles are not here never gets this kind.
    defaults: Mapping[Role, EmailMode] = field(default_factory=dict)
    # Sent to a complainant's address (never in-app, no preferences): the domain's `contact_address`
    # hook gives the address to the sender.
    to_complainant: bool = False

    def default_email(self, roles: frozenset[Role]) -> EmailMode | None:
        """The e-mail mode for a user with these roles (the most frequent one wins: immediate over digest
        over off); None when no role of theirs receives the kind."""
        modes = [self.defaults[role] for role in roles if role in self.defaults]
        if not modes:
            return None
        for mode in (EmailMode.IMMEDIATE, EmailMode.DIGEST):
            if mode in modes:
                return mode
        return EmailMode.OFF
