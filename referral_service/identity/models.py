"""Identity tables: organisation units, users, role assignments, sessions, API tokens, login throttling.

Credentials are stored so that a copy of the database does not let anyone sign in: passwords as
Argon2id hashes, session and API tokens as SHA-256 hashes (they are 256-bit random, so no salt or
stretching is needed), TOTP secrets encrypted (AES-256-GCM, see `totp.py`).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from referral_service.db import UTCDateTime, utcnow


class OrgUnit(SQLModel, table=True):
    """A node of the organisation tree. `path` is the chain of codes from the root
    ("/sn/pd-dresden/rev-dresden-nord/"), so "this unit and everything below" is a prefix filter."""

    __tablename__ = "org_units"
    __table_args__ = (Index("ix_org_units_parent_id", "parent_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=32)
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="org_units.id")
    path: str = Field(max_length=512, unique=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (Index("ix_users_unit_id", "unit_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=120)
    unit_id: uuid.UUID = Field(foreign_key="org_units.id")
    active: bool = Field(default=True)
    password_hash: str = Field(max_length=255)
    password_changed_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # AES-256-GCM ciphertexts (totp.py); the pending secret becomes active once a code confirms it.
    totp_secret: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    totp_pending_secret: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # The last accepted time step: a code is accepted only for a later step (no replay).
    totp_last_step: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RoleAssignment(SQLModel, table=True):
    __tablename__ = "role_assignments"

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True)
    role: str = Field(max_length=32, primary_key=True)
    granted_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuthSession(SQLModel, table=True):
    """A server-side web session. The cookie carries the token; only its SHA-256 hash is stored."""

    __tablename__ = "auth_sessions"
    __table_args__ = (
        Index("ix_auth_sessions_user_id", "user_id"),
        Index("ix_auth_sessions_oidc_subject", "oidc_provider", "oidc_subject_hash"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    csrf_token: str = Field(max_length=64)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    last_seen_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Signed in through an OpenID provider: its key, and keyed hashes of the provider's session id and
    # subject, so that the provider's back-channel logout can end this session (oidc/sign_in.py).
    oidc_provider: str | None = Field(default=None, max_length=32)
    oidc_sid_hash: str | None = Field(default=None, max_length=64)
    oidc_subject_hash: str | None = Field(default=None, max_length=64)


class ApiToken(SQLModel, table=True):
    """A bearer token for API clients, shown once at issue; only its SHA-256 hash is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_id", "user_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    last_used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginThrottle(SQLModel, table=True):
    """Failed attempts per key: staff sign-in ("account:<hmac of username>", "client:<client hash>") and
    complainant access ("complaint-client:<client hash>").

    In the database rather than in memory so that every instance behind the load balancer sees the
    same counts. Keys are keyed hashes: a typed username may be a mistyped password.
    """

    __tablename__ = "login_throttle"

    key: str = Field(max_length=80, primary_key=True)
    failures: int = Field(default=0)
    last_failure_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
