"""referral: references people can quote ("VM-2026-000123"), numbered per year

Existing referrals are numbered per year of submission (in German time, as new ones are) in the order
they were submitted, and the counters continue from there.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import zoneinfo
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIX = "VM"
LOCAL_TIMEZONE = zoneinfo.ZoneInfo("Europe/Berlin")

_referrals = sa.table(
    "referrals",
    sa.column("id", sa.Uuid()),
    sa.column("submitted_at", sa.DateTime(timezone=True)),
    sa.column("reference", sa.String(length=16)),
)
_counters = sa.table(
    "referral_reference_counters", sa.column("year", sa.Integer()), sa.column("last_value", sa.Integer())
)


def upgrade() -> None:
    op.create_table(
        "referral_reference_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_referral_reference_counters")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=16), nullable=True))
    _number_existing_referrals()
    with _foreign_keys_deferred(), op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.alter_column("reference", existing_type=sa.String(length=16), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_referrals_reference"), ["reference"])


def downgrade() -> None:
    with _foreign_keys_deferred(), op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_referrals_reference"), type_="unique")
        batch_op.drop_column("reference")
    op.drop_table("referral_reference_counters")


def _number_existing_referrals() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_referrals.c.id, _referrals.c.submitted_at).order_by(
            _referrals.c.submitted_at, _referrals.c.id
        )
    ).all()
    numbered: list[dict[str, object]] = []
    for year, group in itertools.groupby(rows, key=lambda row: _local_year(row.submitted_at)):
        for sequence, row in enumerate(group, start=1):
            numbered.append({"row_id": row.id, "new_reference": f"{PREFIX}-{year:04d}-{sequence:06d}"})
        connection.execute(sa.insert(_counters).values(year=year, last_value=sequence))
    if numbered:
        connection.execute(
            sa.update(_referrals)
            .where(_referrals.c.id == sa.bindparam("row_id"))
            .values(reference=sa.bindparam("new_reference")),
            numbered,
        )


def _local_year(submitted_at: dt.datetime) -> int:
    # SQLite hands the stored UTC time back without its zone.
    aware = submitted_at if submitted_at.tzinfo else submitted_at.replace(tzinfo=dt.UTC)
    return aware.astimezone(LOCAL_TIMEZONE).year


@contextlib.contextmanager
def _foreign_keys_deferred() -> Iterator[None]:
    """SQLite recreates the table for these changes, and dropping the old table would count every row
    of another table that refers to it as a violation. So the checks wait, and since switching them back
    on forgets what the drop counted, the references are checked once over the whole database."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA defer_foreign_keys = ON")
    yield
    if sqlite:
        violations = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").all()
        if violations:
            raise RuntimeError(f"{len(violations)} rows refer to rows that do not exist")
        op.execute("PRAGMA defer_foreign_keys = OFF")
