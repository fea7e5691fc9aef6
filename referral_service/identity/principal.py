"""The authenticated caller, as every domain sees it.

`Principal` says who acts, from which unit, with which roles and permissions. It deliberately does not
say which credential was used beyond `auth_method`: a sign-in through the police's or the WR's identity
provider, and another system with the provider's client-credentials token, produce the same type. What
the guard needs about the credential itself (session id, CSRF token) lives in `Credential`, which
domains never need.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from referral_service.audit.recorder import Actor, ActorKind
from referral_service.identity.permissions import Permission
from referral_service.identity.roles import Role, UnitKind


class AuthMethod(StrEnum):
    SESSION = "session"
    TOKEN = "token"  # noqa: S105 - a method name, not a secret
    # Another system, with an OpenID provider's client-credentials access token: it acts as the local
    # technical account the provider's configuration names for its client_id.
    CLIENT = "client_credentials"


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID
    username: str
    unit_id: uuid.UUID
    unit_path: str
    unit_kind: UnitKind
    roles: frozenset[Role]
    permissions: frozenset[Permission]
    auth_method: AuthMethod

    def has(self, permission: Permission) -> bool:
        return permission in self.permissions

    def has_role(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def actor(self) -> Actor:
        """This principal as the actor of an audit event."""
        return Actor(
            kind=ActorKind.USER,
            user_id=str(self.user_id),
            roles=tuple(sorted(role.value for role in self.roles)),
            unit_id=str(self.unit_id),
        )


@dataclass(frozen=True, slots=True)
class Credential:
    """The credential a request was authenticated with (kept in `scope["auth"]`)."""

    method: AuthMethod
    id: uuid.UUID
    csrf_token: str | None = None
