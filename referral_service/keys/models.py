"""Wrapped per-case data keys. One row per referral or complaint."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from referral_service.db import UTCDateTime, utcnow


class DataKeyRecord(SQLModel, table=True):
    """A case's data key, wrapped by a key-encryption key version.

    Crypto-shredding clears `wrapped` and sets `destroyed_at`; the row stays so that a later read of the
    case fails as "destroyed" instead of "unknown key", and so rotation can count keys per KEK version.
    """

    __tablename__ = "data_keys"
    __table_args__ = (Index("ix_data_keys_kek_version", "kek_version"),)

    id: uuid.UUID = Field(primary_key=True)
    case_kind: str = Field(max_length=32)
    kek_version: int | None = Field(default=None)
    wrapped: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    destroyed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
