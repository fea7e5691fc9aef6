"""identity: sign-in through OpenID providers (started sign-ins, bound subjects, provider sessions)

`oidc_sign_ins` holds each started sign-in until its callback (one use); `external_identities` binds a
user to a provider's subject, stored as a keyed hash; three nullable columns on `auth_sessions` let the
provider's logout end the sessions it started. Downgrading drops them: provider users stay, unbound.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oidc_sign_ins",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("next_path", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("unit_id", sa.Uuid(), nullable=True),
        sa.Column("roles", sa.String(length=400), nullable=True),
        sa.Column("subject_hash", sa.String(length=64), nullable=True),
        sa.Column("sid_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["org_units.id"], name=op.f("fk_oidc_sign_ins_unit_id_org_units")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_oidc_sign_ins_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_sign_ins")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_oidc_sign_ins_state_hash")),
    )
    with op.batch_alter_table("oidc_sign_ins", schema=None) as batch_op:
        batch_op.create_index("ix_oidc_sign_ins_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "external_identities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_external_identities_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_identities")),
        sa.UniqueConstraint(
            "provider", "subject_hash", name=op.f("uq_external_identities_provider_subject_hash")
        ),
    )
    with op.batch_alter_table("external_identities", schema=None) as batch_op:
        batch_op.create_index("ix_external_identities_user_id", ["user_id"], unique=False)

    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("oidc_provider", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("oidc_sid_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("oidc_subject_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_auth_sessions_oidc_subject", ["oidc_provider", "oidc_subject_hash"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_auth_sessions_oidc_subject")
        batch_op.drop_column("oidc_subject_hash")
        batch_op.drop_column("oidc_sid_hash")
        batch_op.drop_column("oidc_provider")

    with op.batch_alter_table("external_identities", schema=None) as batch_op:
        batch_op.drop_index("ix_external_identities_user_id")
    op.drop_table("external_identities")

    with op.batch_alter_table("oidc_sign_ins", schema=None) as batch_op:
        batch_op.drop_index("ix_oidc_sign_ins_expires_at")
    op.drop_table("oidc_sign_ins")
