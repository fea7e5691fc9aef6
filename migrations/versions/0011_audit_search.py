"""audit: indexes for the readable audit search

The event search lists newest first by (occurred_at_us, id). Each single-column filter index of 0002
becomes a composite one ending in those columns, so that a filtered page (with or without a date range)
is one index range read backwards instead of a sort, or a backwards scan of the whole table that
filters row by row. The target index splits in two, so that a target id finds its events without its
type too; outcome (denied, failure are rare) gets an index of its own. Measured on 200,000
events in docs/security/audit.md.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (old index, its columns) replaced by (new index, its columns). Plain CREATE/DROP INDEX, not a batch:
# on SQLite a batch would rebuild the table and lose its append-only triggers.
_REPLACED = (
    (
        ("ix_audit_events_occurred_at_us", ["occurred_at_us"]),
        ("ix_audit_events_time", ["occurred_at_us", "id"]),
    ),
    (
        ("ix_audit_events_action", ["action"]),
        ("ix_audit_events_action_time", ["action", "occurred_at_us", "id"]),
    ),
    (
        ("ix_audit_events_actor_id", ["actor_id"]),
        ("ix_audit_events_actor_time", ["actor_id", "occurred_at_us", "id"]),
    ),
    (
        ("ix_audit_events_target", ["target_type", "target_id"]),
        ("ix_audit_events_target_type_time", ["target_type", "occurred_at_us", "id"]),
    ),
)
_ADDED = (
    ("ix_audit_events_target_id_time", ["target_id", "occurred_at_us", "id"]),
    ("ix_audit_events_outcome_time", ["outcome", "occurred_at_us", "id"]),
)


def upgrade() -> None:
    for (old, _), (new, columns) in _REPLACED:
        op.create_index(new, "audit_events", columns, unique=False)
        op.drop_index(old, table_name="audit_events")
    for name, columns in _ADDED:
        op.create_index(name, "audit_events", columns, unique=False)


def downgrade() -> None:
    for name, _ in _ADDED:
        op.drop_index(name, table_name="audit_events")
    for (old, old_columns), (new, _) in _REPLACED:
        op.create_index(old, "audit_events", old_columns, unique=False)
        op.drop_index(new, table_name="audit_events")
