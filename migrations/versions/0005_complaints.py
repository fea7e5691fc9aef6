"""complaints

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "complaint_reference_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_complaint_reference_counters")),
    )
    op.create_table(
        "complaints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("data_key_id", sa.Uuid(), nullable=True),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("access_code_hash", sa.String(length=255), nullable=False),
        sa.Column("complaint_type", sa.String(length=16), nullable=False),
        sa.Column("complainant_kind", sa.String(length=24), nullable=False),
        sa.Column("from_police_staff", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("incident_date", sa.Date(), nullable=True),
        sa.Column("police_unit_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("follow_up_of_id", sa.Uuid(), nullable=True),
        sa.Column("follow_up_reference", sa.String(length=16), nullable=True),
        sa.Column("identity_confidential", sa.Boolean(), nullable=False),
        sa.Column("name", sa.LargeBinary(), nullable=True),
        sa.Column("email", sa.LargeBinary(), nullable=True),
        sa.Column("phone", sa.LargeBinary(), nullable=True),
        sa.Column("address", sa.LargeBinary(), nullable=True),
        sa.Column("description", sa.LargeBinary(), nullable=True),
        sa.Column("place", sa.LargeBinary(), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("no_decision_reason", sa.String(length=32), nullable=True),
        sa.Column("criminal_investigation", sa.Boolean(), nullable=False),
        sa.Column("disciplinary_proceedings", sa.Boolean(), nullable=False),
        sa.Column("forward_reason", sa.String(length=24), nullable=True),
        sa.Column("draft_outcome", sa.String(length=24), nullable=True),
        sa.Column("draft_no_decision_reason", sa.String(length=32), nullable=True),
        sa.Column("draft_criminal_investigation", sa.Boolean(), nullable=False),
        sa.Column("draft_disciplinary_proceedings", sa.Boolean(), nullable=False),
        sa.Column("draft_reply", sa.LargeBinary(), nullable=True),
        sa.Column("drafted_by_id", sa.Uuid(), nullable=True),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("deadline_on", sa.Date(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Uuid(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"], name=op.f("fk_complaints_assignee_id_users")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_complaints_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["data_key_id"], ["data_keys.id"], name=op.f("fk_complaints_data_key_id_data_keys")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_complaints_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["drafted_by_id"], ["users.id"], name=op.f("fk_complaints_drafted_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["follow_up_of_id"], ["complaints.id"], name=op.f("fk_complaints_follow_up_of_id_complaints")
        ),
        sa.ForeignKeyConstraint(
            ["police_unit_id"], ["org_units.id"], name=op.f("fk_complaints_police_unit_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("reference", name=op.f("uq_complaints_reference")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index("ix_complaints_assignee_status", ["assignee_id", "status"], unique=False)
        batch_op.create_index("ix_complaints_police_unit_id", ["police_unit_id"], unique=False)
        batch_op.create_index("ix_complaints_received_at", ["received_at"], unique=False)
        batch_op.create_index("ix_complaints_status", ["status"], unique=False)

    op.create_table(
        "complainant_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_complainant_sessions_complaint_id_complaints")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complainant_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_complainant_sessions_token_hash")),
    )
    with op.batch_alter_table("complainant_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complainant_sessions_complaint_id"), ["complaint_id"], unique=False
        )

    op.create_table(
        "complaint_attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("data_key_id", sa.Uuid(), nullable=True),
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.LargeBinary(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_kind", sa.String(length=16), nullable=False),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_complaint_attachments_complaint_id_complaints")
        ),
        sa.ForeignKeyConstraint(
            ["data_key_id"], ["data_keys.id"], name=op.f("fk_complaint_attachments_data_key_id_data_keys")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_complaint_attachments_uploaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_attachments")),
    )
    with op.batch_alter_table("complaint_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_attachments_complaint_id"), ["complaint_id"], unique=False
        )

    op.create_table(
        "complaint_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("data_key_id", sa.Uuid(), nullable=True),
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("author_kind", sa.String(length=16), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_complaint_messages_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_complaint_messages_complaint_id_complaints")
        ),
        sa.ForeignKeyConstraint(
            ["data_key_id"], ["data_keys.id"], name=op.f("fk_complaint_messages_data_key_id_data_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_messages")),
    )
    with op.batch_alter_table("complaint_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_messages_complaint_id"), ["complaint_id"], unique=False
        )

    op.create_table(
        "complaint_statement_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("data_key_id", sa.Uuid(), nullable=True),
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("question", sa.LargeBinary(), nullable=True),
        sa.Column("released_facts", sa.LargeBinary(), nullable=True),
        sa.Column("answer", sa.LargeBinary(), nullable=True),
        sa.Column("deadline_on", sa.Date(), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by_id", sa.Uuid(), nullable=True),
        sa.Column("disclosure_approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disclosure_approved_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["users.id"],
            name=op.f("fk_complaint_statement_requests_answered_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_statement_requests_complaint_id_complaints"),
        ),
        sa.ForeignKeyConstraint(
            ["data_key_id"],
            ["data_keys.id"],
            name=op.f("fk_complaint_statement_requests_data_key_id_data_keys"),
        ),
        sa.ForeignKeyConstraint(
            ["disclosure_approved_by_id"],
            ["users.id"],
            name=op.f("fk_complaint_statement_requests_disclosure_approved_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_complaint_statement_requests_requested_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["org_units.id"], name=op.f("fk_complaint_statement_requests_unit_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_statement_requests")),
    )
    with op.batch_alter_table("complaint_statement_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_statement_requests_complaint_id"), ["complaint_id"], unique=False
        )
        batch_op.create_index("ix_complaint_statement_requests_unit_id", ["unit_id"], unique=False)

    op.create_table(
        "complaint_transitions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=False),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_complaint_transitions_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_complaint_transitions_complaint_id_complaints")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_transitions")),
    )
    with op.batch_alter_table("complaint_transitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_transitions_complaint_id"), ["complaint_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("complaint_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_transitions_complaint_id"))

    op.drop_table("complaint_transitions")
    with op.batch_alter_table("complaint_statement_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_statement_requests_unit_id")
        batch_op.drop_index(batch_op.f("ix_complaint_statement_requests_complaint_id"))

    op.drop_table("complaint_statement_requests")
    with op.batch_alter_table("complaint_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_messages_complaint_id"))

    op.drop_table("complaint_messages")
    with op.batch_alter_table("complaint_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_attachments_complaint_id"))

    op.drop_table("complaint_attachments")
    with op.batch_alter_table("complainant_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complainant_sessions_complaint_id"))

    op.drop_table("complainant_sessions")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index("ix_complaints_status")
        batch_op.drop_index("ix_complaints_received_at")
        batch_op.drop_index("ix_complaints_police_unit_id")
        batch_op.drop_index("ix_complaints_assignee_status")

    op.drop_table("complaints")
    op.drop_table("complaint_reference_counters")
