"""referral: list columns, search and paging indexes

Lists page newest first by (submitted_at, reference) inside the caller's scope, so each scope column
gets an index ending in those two (the assignee's replaces its single-column index). The state office
keeps read-only sight of the cases it routed: `routed_by_unit_id` and `routed_at`, filled for referrals
routed before this revision from their last "route" transition and its actor's unit.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PAGING_INDEXES = {
    "ix_referrals_station_submitted": ["referring_station_id", "submitted_at", "reference"],
    "ix_referrals_branch_submitted": ["branch_id", "submitted_at", "reference"],
    "ix_referrals_assignee_submitted": ["assignee_id", "submitted_at", "reference"],
    "ix_referrals_routed_by_unit_submitted": ["routed_by_unit_id", "submitted_at", "reference"],
    "ix_referrals_escalation_level": ["escalation_level"],
}


def upgrade() -> None:
    with _foreign_keys_deferred(), op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("routed_by_unit_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("routed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_referrals_routed_by_unit_id_org_units"), "org_units", ["routed_by_unit_id"], ["id"]
        )
        batch_op.drop_index("ix_referrals_assignee_id")
        for name, columns in _PAGING_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    _fill_routed()


def downgrade() -> None:
    with _foreign_keys_deferred(), op.batch_alter_table("referrals", schema=None) as batch_op:
        for name in _PAGING_INDEXES:
            batch_op.drop_index(name)
        batch_op.create_index("ix_referrals_assignee_id", ["assignee_id"], unique=False)
        batch_op.drop_constraint(batch_op.f("fk_referrals_routed_by_unit_id_org_units"), type_="foreignkey")
        batch_op.drop_column("routed_at")
        batch_op.drop_column("routed_by_unit_id")


def _fill_routed() -> None:
    # Plain SQL both engines run: the last route of each routed referral, and its actor's unit.
    op.execute(
        """
        UPDATE referrals SET
            routed_at = (
                SELECT MAX(t.at) FROM referral_transitions t
                WHERE t.referral_id = referrals.id AND t.action = 'route'
            ),
            routed_by_unit_id = (
                SELECT u.unit_id FROM referral_transitions t JOIN users u ON u.id = t.actor_id
                WHERE t.referral_id = referrals.id AND t.action = 'route'
                ORDER BY t.at DESC LIMIT 1
            )
        WHERE EXISTS (
            SELECT 1 FROM referral_transitions t WHERE t.referral_id = referrals.id AND t.action = 'route'
        )
        """
    )


@contextlib.contextmanager
def _foreign_keys_deferred() -> Iterator[None]:
    """SQLite recreates the table for these changes (see 0008): the reference checks wait until the end."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA defer_foreign_keys = ON")
    yield
    if sqlite:
        violations = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").all()
        if violations:
            raise RuntimeError(f"{len(violations)} rows refer to rows that do not exist")
        op.execute("PRAGMA defer_foreign_keys = OFF")
