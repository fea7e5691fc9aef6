"""What the auditor's event search adds above the audit package, for the pages and the API alike: user
names for the actor ids (from identity, which the audit package must not import), actions in words (from
the catalogues), and the columns of the CSV export.

An action's label is `audit.action.<code>` in the catalogue of the area that declares the action (the
kernel's here, a domain's beside the domain), so the kernel names no domain action; tests/audit keeps
every declared action labelled in both languages.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import groupby

from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service import listing
from referral_service.audit.actions import declared_actions, label_key, scope_key
from referral_service.audit.recorder import ActorKind
from referral_service.audit.schemas import AuditEventOut
from referral_service.identity import repository as identity
from referral_service.identity.authentication import normalise_username
from referral_service.identity.models import OrgUnit, User
from referral_service.web.i18n import N_, Translator

# The export's file name; the filters are not in it (they may identify someone).
EXPORT_FILE_NAME = "audit-events.csv"


def is_known_action(code: str) -> bool:
    return code in declared_actions()


def action_label(t: Translator, code: str) -> str:
    """The action in words; its code when no catalogue labels it (an action recorded by a version that
    declared it, removed since)."""
    key = label_key(code)
    return t(key) if t.has(key) else code


def action_groups(t: Translator) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every declared action as (code, label) for a select, grouped by scope, both sorted by label."""
    by_scope = sorted(declared_actions(), key=lambda code: (t(scope_key(code)), action_label(t, code)))
    return [
        (group, [(code, action_label(t, code)) for code in codes])
        for group, codes in groupby(by_scope, key=lambda code: t(scope_key(code)))
    ]


class UnknownUserNameError(Exception):
    """A search by a user name nobody has: said plainly, since an empty list would read as "this
    person did nothing"."""


async def searched_actors(
    session: AsyncSession, actor_id: str | None, username: str | None
) -> tuple[str, ...] | None:
    """The actor ids a search asks for (None: any). By user name (case does not matter), by id, or both:
    then the events of that user only if the id is theirs, else none."""
    actor_ids = None if actor_id is None else (actor_id,)
    if username is None:
        return actor_ids
    user = await identity.get_user_by_username(session, normalise_username(username))
    if user is None:
        raise UnknownUserNameError()
    named = (str(user.id),)
    return named if actor_ids is None else tuple(set(named) & set(actor_ids))


def _uuids(values: Sequence[str | None]) -> set[uuid.UUID]:
    found = set()
    for value in values:
        try:
            found.add(uuid.UUID(value or ""))
        except ValueError:
            continue  # an actor that is no user (system) or an id of another kind
    return found


@dataclass(frozen=True, slots=True)
class Names:
    """The users and units a page of events names, looked up in one query each."""

    users: dict[str, User]
    units: dict[str, OrgUnit]

    def user(self, event: AuditEventOut) -> User | None:
        return self.users.get(event.actor_id or "")

    def unit(self, event: AuditEventOut) -> OrgUnit | None:
        return self.units.get(event.actor_unit_id or "")

    def actor_text(self, t: Translator, event: AuditEventOut) -> str:
        """The actor as a reader of the log names them: the user name, else the kind of actor."""
        user = self.user(event)
        if user is not None:
            return user.username
        if event.actor_kind == ActorKind.USER and event.actor_id:
            return event.actor_id
        return t(f"audit.actor_kind.{event.actor_kind}")


async def names_for(session: AsyncSession, events: Sequence[AuditEventOut]) -> Names:
    users = await identity.users_by_ids(session, _uuids([event.actor_id for event in events]))
    units = await identity.units_by_ids(session, _uuids([event.actor_unit_id for event in events]))
    return Names(
        users={str(key): user for key, user in users.items()},
        units={str(key): unit for key, unit in units.items()},
    )


def role_text(t: Translator, roles: Sequence[str]) -> str:
    return ", ".join(t(f"role.{role}") if t.has(f"role.{role}") else role for role in roles)


def csv_text(t: Translator, events: Sequence[AuditEventOut], names: Names) -> str:
    """The export: the list's columns, never the details (ids and codes, but the list does not show them
    either)."""
    columns: list[tuple[str, Callable[[AuditEventOut], object]]] = [
        (N_("audit.csv.position"), lambda e: e.seq),
        (N_("audit.csv.id"), lambda e: e.id),
        (N_("audit.csv.time"), lambda e: e.occurred_at),
        (N_("audit.csv.action"), lambda e: e.action),
        (N_("audit.csv.action_label"), lambda e: action_label(t, e.action)),
        (N_("audit.csv.outcome"), lambda e: t(f"audit.outcome.{e.outcome}")),
        (N_("audit.csv.user"), lambda e: names.actor_text(t, e)),
        (N_("audit.csv.display_name"), lambda e: getattr(names.user(e), "display_name", None)),
        (N_("audit.csv.roles"), lambda e: role_text(t, e.actor_roles)),
        (N_("audit.csv.unit"), lambda e: getattr(names.unit(e), "name", None) or e.actor_unit_id),
        (N_("audit.csv.target_type"), lambda e: e.target_type),
        (N_("audit.csv.target_id"), lambda e: e.target_id),
        (N_("audit.csv.request_id"), lambda e: e.request_id),
    ]
    return listing.csv_columns([(t(key), read) for key, read in columns], events)


__all__ = [
    "EXPORT_FILE_NAME",
    "Names",
    "UnknownUserNameError",
    "action_groups",
    "action_label",
    "csv_text",
    "is_known_action",
    "names_for",
    "role_text",
    "searched_actors",
]
