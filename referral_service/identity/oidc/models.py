"""Tables of the OpenID sign-in: started sign-ins (one use each) and users bound to a provider's subject.

Neither holds a personal identifier in plaintext: the browser's state is stored as its SHA-256, the
provider's subject (`sub`) as an HMAC under the service's secret key, so a copy of the database does not
tell who signs in where.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from referral_service.db import UTCDateTime


class OidcSignIn(SQLModel, table=True):
    """One sign-in started at a provider. The callback consumes it (`used_at`); when the user still has to
    give the local one-time code, the row keeps the mapped user, unit and roles at stage "totp"."""

    __tablename__ = "oidc_sign_ins"
    __table_args__ = (Index("ix_oidc_sign_ins_expires_at", "expires_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    state_hash: str = Field(max_length=64, unique=True)
    provider: str = Field(max_length=32)
    nonce: str = Field(max_length=64)
    code_verifier: str = Field(max_length=128)
    next_path: str = Field(max_length=200)
    stage: str = Field(default="started", max_length=16)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Stage "totp": who signed in and what the provider's claims gave, until the code confirms it.
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    unit_id: uuid.UUID | None = Field(default=None, foreign_key="org_units.id")
    roles: str | None = Field(default=None, max_length=400)
    subject_hash: str | None = Field(default=None, max_length=64)
    sid_hash: str | None = Field(default=None, max_length=64)


class ExternalIdentity(SQLModel, table=True):
    """A user bound to a provider's subject: by just-in-time provisioning or by an administrator."""

    __tablename__ = "external_identities"
    __table_args__ = (
        UniqueConstraint("provider", "subject_hash"),
        Index("ix_external_identities_user_id", "user_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    provider: str = Field(max_length=32)
    subject_hash: str = Field(max_length=64)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
