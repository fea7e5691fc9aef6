"""reporting: the register of joint cooperation activities; a covering index for the statistics

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cooperation_activities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("recorded_by_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_cooperation_activities_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cooperation_activities")),
    )
    with op.batch_alter_table("cooperation_activities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cooperation_activities_held_on"), ["held_on"], unique=False)

    op.create_table(
        "cooperation_activity_units",
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["cooperation_activities.id"],
            name=op.f("fk_cooperation_activity_units_activity_id_cooperation_activities"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["org_units.id"], name=op.f("fk_cooperation_activity_units_unit_id_org_units")
        ),
        sa.PrimaryKeyConstraint("activity_id", "unit_id", name=op.f("pk_cooperation_activity_units")),
    )
    with op.batch_alter_table("cooperation_activity_units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cooperation_activity_units_unit_id"), ["unit_id"], unique=False)

    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_referrals_statistics",
            [
                "submitted_at",
                "referring_station_id",
                "offence_category",
                "status",
                "accepted_at",
                "first_contact_at",
                "declined_at",
                "withdrawn_at",
                "support_given",
            ],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_statistics")

    with op.batch_alter_table("cooperation_activity_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cooperation_activity_units_unit_id"))

    op.drop_table("cooperation_activity_units")
    with op.batch_alter_table("cooperation_activities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cooperation_activities_held_on"))

    op.drop_table("cooperation_activities")
