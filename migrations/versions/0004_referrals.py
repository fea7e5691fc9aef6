"""referrals

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "referral_postcode_routes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("postcode_from", sa.String(length=5), nullable=False),
        sa.Column("postcode_to", sa.String(length=5), nullable=False),
        sa.Column("branch_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["org_units.id"], name=op.f("fk_referral_postcode_routes_branch_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_postcode_routes")),
    )
    with op.batch_alter_table("referral_postcode_routes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_postcode_routes_postcode_from"), ["postcode_from"], unique=False
        )

    op.create_table(
        "referrals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("data_key_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("referring_station_id", sa.Uuid(), nullable=False),
        sa.Column("referring_officer_id", sa.Uuid(), nullable=False),
        sa.Column("branch_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("declined_by_branch_id", sa.Uuid(), nullable=True),
        sa.Column("decline_reason", sa.String(length=32), nullable=True),
        sa.Column("repeat_of_id", sa.Uuid(), nullable=True),
        sa.Column("offence_category", sa.String(length=32), nullable=False),
        sa.Column("hate_crime", sa.Boolean(), nullable=False),
        sa.Column("incident_month", sa.String(length=7), nullable=False),
        sa.Column("requested_support", sa.String(length=300), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("interpreter_needed", sa.Boolean(), nullable=False),
        sa.Column("consent_given_by", sa.String(length=32), nullable=False),
        sa.Column("consent_given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consent_form", sa.String(length=16), nullable=False),
        sa.Column("consent_scope", sa.String(length=64), nullable=False),
        sa.Column("consent_recorded_by_id", sa.Uuid(), nullable=False),
        sa.Column("victim_name", sa.LargeBinary(), nullable=True),
        sa.Column("date_of_birth", sa.LargeBinary(), nullable=True),
        sa.Column("phone", sa.LargeBinary(), nullable=True),
        sa.Column("email", sa.LargeBinary(), nullable=True),
        sa.Column("street_address", sa.LargeBinary(), nullable=True),
        sa.Column("postcode", sa.LargeBinary(), nullable=True),
        sa.Column("city", sa.LargeBinary(), nullable=True),
        sa.Column("contact_preferences", sa.LargeBinary(), nullable=True),
        sa.Column("accessibility_needs", sa.LargeBinary(), nullable=True),
        sa.Column("incident_date", sa.LargeBinary(), nullable=True),
        sa.Column("case_number", sa.LargeBinary(), nullable=True),
        sa.Column("circumstances", sa.LargeBinary(), nullable=True),
        sa.Column("case_number_index", sa.LargeBinary(), nullable=True),
        sa.Column("phone_index", sa.LargeBinary(), nullable=True),
        sa.Column("email_index", sa.LargeBinary(), nullable=True),
        sa.Column("close_outcome", sa.String(length=32), nullable=True),
        sa.Column("support_given", sa.String(length=300), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"], name=op.f("fk_referrals_assignee_id_users")),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["org_units.id"], name=op.f("fk_referrals_branch_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["consent_recorded_by_id"], ["users.id"], name=op.f("fk_referrals_consent_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["data_key_id"], ["data_keys.id"], name=op.f("fk_referrals_data_key_id_data_keys")
        ),
        sa.ForeignKeyConstraint(
            ["declined_by_branch_id"],
            ["org_units.id"],
            name=op.f("fk_referrals_declined_by_branch_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["referring_officer_id"], ["users.id"], name=op.f("fk_referrals_referring_officer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["referring_station_id"],
            ["org_units.id"],
            name=op.f("fk_referrals_referring_station_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["repeat_of_id"], ["referrals.id"], name=op.f("fk_referrals_repeat_of_id_referrals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index("ix_referrals_assignee_id", ["assignee_id"], unique=False)
        batch_op.create_index("ix_referrals_branch_status", ["branch_id", "status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_referrals_case_number_index"), ["case_number_index"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_referrals_email_index"), ["email_index"], unique=False)
        batch_op.create_index(batch_op.f("ix_referrals_phone_index"), ["phone_index"], unique=False)
        batch_op.create_index("ix_referrals_station_status", ["referring_station_id", "status"], unique=False)
        batch_op.create_index("ix_referrals_submitted_at", ["submitted_at"], unique=False)

    op.create_table(
        "referral_contact_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("reached", sa.Boolean(), nullable=False),
        sa.Column("recorded_by_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_referral_contact_attempts_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name=op.f("fk_referral_contact_attempts_referral_id_referrals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_contact_attempts")),
    )
    with op.batch_alter_table("referral_contact_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_contact_attempts_referral_id"), ["referral_id"], unique=False
        )

    op.create_table(
        "referral_transitions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=False),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_referral_transitions_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name=op.f("fk_referral_transitions_referral_id_referrals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_transitions")),
    )
    with op.batch_alter_table("referral_transitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_transitions_referral_id"), ["referral_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("referral_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_transitions_referral_id"))

    op.drop_table("referral_transitions")
    with op.batch_alter_table("referral_contact_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_contact_attempts_referral_id"))

    op.drop_table("referral_contact_attempts")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_submitted_at")
        batch_op.drop_index("ix_referrals_station_status")
        batch_op.drop_index(batch_op.f("ix_referrals_phone_index"))
        batch_op.drop_index(batch_op.f("ix_referrals_email_index"))
        batch_op.drop_index(batch_op.f("ix_referrals_case_number_index"))
        batch_op.drop_index("ix_referrals_branch_status")
        batch_op.drop_index("ix_referrals_assignee_id")

    op.drop_table("referrals")
    with op.batch_alter_table("referral_postcode_routes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_postcode_routes_postcode_from"))

    op.drop_table("referral_postcode_routes")
