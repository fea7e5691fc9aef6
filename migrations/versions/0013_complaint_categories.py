"""complaints: several content categories per complaint, one of them primary

Every existing complaint keeps its one category as its primary mention (lossless: `complaints.category`
stays as it was and becomes the copy of the primary mention). Downgrading drops the further mentions;
the primary is still in `complaints.category`.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "complaint_categories",
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"]),
        sa.PrimaryKeyConstraint("complaint_id", "category"),
    )
    op.execute(
        "INSERT INTO complaint_categories (complaint_id, category, is_primary) "
        "SELECT id, category, TRUE FROM complaints"
    )


def downgrade() -> None:
    op.drop_table("complaint_categories")
