"""complaints: search and paging indexes of the office's lists

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_complaints_status_deadline_on", "complaints", ["status", "deadline_on"])
    op.create_index("ix_complaints_category", "complaints", ["category"])
    op.create_index(
        "ix_complaint_statement_requests_unit_deadline",
        "complaint_statement_requests",
        ["unit_id", "deadline_on", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_complaint_statement_requests_unit_deadline", table_name="complaint_statement_requests")
    op.drop_index("ix_complaints_category", table_name="complaints")
    op.drop_index("ix_complaints_status_deadline_on", table_name="complaints")
