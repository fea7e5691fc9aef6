"""Request and response types of the identity API (msgspec; `X` / `XCreate` / `XUpdate`).

Request types refuse unknown fields, so a misspelt field is an error rather than silently ignored.
Secrets appear only in requests and in the one response that hands them out (`TokenIssued`,
`TotpProvisioning`); they are never part of any other type.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from referral_service.identity.permissions import Permission
from referral_service.identity.roles import Role, UnitKind

Username = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
TotpCode = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
UnitCode = Annotated[str, msgspec.Meta(min_length=2, max_length=32)]
UnitName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class _Request(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


# Authentication


class LoginRequest(_Request):
    username: Username
    password: Password
    totp_code: TotpCode | None = None


class OrgUnit(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    kind: UnitKind
    parent_id: uuid.UUID | None
    path: str


class Me(msgspec.Struct, kw_only=True):
    user_id: uuid.UUID
    username: str
    display_name: str
    unit: OrgUnit
    roles: list[Role]
    permissions: list[Permission]
    auth_method: str
    totp_enabled: bool
    # Only for cookie sessions: send it back in X-CSRF-Token (or form field _csrf) on state changes.
    csrf_token: str | None = None


class SessionStarted(msgspec.Struct, kw_only=True):
    csrf_token: str
    expires_at: dt.datetime
    idle_timeout_seconds: int
    me: Me


class TokenIssued(msgspec.Struct, kw_only=True):
    token: str
    token_type: str
    expires_at: dt.datetime


class PasswordChange(_Request):
    current_password: Password
    new_password: Password


class TotpEnrolmentStart(_Request):
    password: Password


class TotpEnrolmentConfirm(_Request):
    code: TotpCode


class TotpProvisioning(msgspec.Struct, kw_only=True):
    """A new TOTP secret, shown once: enter it (or the otpauth URI as a QR code) in an authenticator."""

    secret: str
    uri: str


# Organisation units


class OrgUnitCreate(_Request):
    code: UnitCode
    name: UnitName
    kind: UnitKind
    parent_id: uuid.UUID | None = None


class OrgUnitNode(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    kind: UnitKind
    path: str
    children: list[OrgUnitNode]


# Users


class User(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    username: str
    display_name: str
    unit_id: uuid.UUID
    active: bool
    roles: list[Role]
    totp_enabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class UserCreate(_Request):
    username: Username
    display_name: DisplayName
    unit_id: uuid.UUID
    roles: Annotated[list[Role], msgspec.Meta(min_length=1, max_length=9)]
    password: Password


class UserUpdate(_Request):
    active: bool | msgspec.UnsetType = msgspec.UNSET
    display_name: DisplayName | msgspec.UnsetType = msgspec.UNSET


class UserProvisioned(msgspec.Struct, kw_only=True):
    """A created or changed user; `totp` is set only when a new second factor was provisioned."""

    user: User
    totp: TotpProvisioning | None = None


class RoleGrant(_Request):
    role: Role


class PasswordReset(_Request):
    password: Password
    # Also replace the second factor (lost phone); the new secret is returned once.
    reset_totp: bool = False
