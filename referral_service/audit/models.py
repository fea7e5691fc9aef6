"""Audit tables. All three are append-only: the migrations install triggers that refuse
UPDATE and DELETE (and TRUNCATE on PostgreSQL).

- `audit_events`: written by `record()` in the transaction of the change it records. Its id orders
  inserts, not the log: ids of concurrent transactions commit out of order.
- `audit_log`: the sequenced log. The sequencer appends committed events with consecutive positions,
  their RFC 9162 leaf hash, and a MAC over (position, leaf hash) under a key the database never sees.
- `audit_checkpoints`: signed tree heads (size, root, time) produced periodically and on demand.

Times are integer microseconds since the epoch (UTC) so that both engines store, and the verifier
hashes, exactly the same value.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, LargeBinary, Text
from sqlmodel import Field, SQLModel


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    # The search lists newest first by (occurred_at_us, id): each filter's index ends in those columns,
    # so a filtered page, with or without a date range, is one index range read backwards (migration 0011).
    __table_args__ = (
        Index("ix_audit_events_time", "occurred_at_us", "id"),
        Index("ix_audit_events_action_time", "action", "occurred_at_us", "id"),
        Index("ix_audit_events_actor_time", "actor_id", "occurred_at_us", "id"),
        Index("ix_audit_events_outcome_time", "outcome", "occurred_at_us", "id"),
        Index("ix_audit_events_target_type_time", "target_type", "occurred_at_us", "id"),
        # A target id alone (API) or with its type: the id is selective, the type checked per row.
        Index("ix_audit_events_target_id_time", "target_id", "occurred_at_us", "id"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    occurred_at_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    action: str = Field(max_length=100)
    outcome: str = Field(max_length=16)
    actor_kind: str = Field(max_length=16)
    actor_id: str | None = Field(default=None, max_length=64)
    actor_roles: str = Field(default="", max_length=300)
    actor_unit_id: str | None = Field(default=None, max_length=64)
    target_type: str | None = Field(default=None, max_length=50)
    target_id: str | None = Field(default=None, max_length=64)
    request_id: str | None = Field(default=None, max_length=64)
    client_hash: str | None = Field(default=None, max_length=64)
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False))


class AuditLogEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    event_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("audit_events.id"), nullable=False, unique=True)
    )
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    mac: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sequenced_at_us: int = Field(sa_column=Column(BigInteger, nullable=False))


class AuditCheckpoint(SQLModel, table=True):
    __tablename__ = "audit_checkpoints"

    tree_size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    signed_text: str = Field(sa_column=Column(Text, nullable=False))
