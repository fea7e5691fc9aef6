"""referrals: offence areas as WEISSER RING and the police crime statistics report them apart

The one area "sexual_offence" is split into sexual abuse of children, rape/sexual coercion/sexual
assault and other sexual offences (domestic violence was apart from bodily harm already). Which of the
three an existing referral belongs to is not recorded anywhere, so its rows move to
"sexual_offence_unspecified": nothing is lost, nothing invented (mapping table: docs/referrals.md).
Downgrading maps the four sexual offence areas back to "sexual_offence"; that merge cannot be undone.

`offence_category` is a plain string column (no enum type, no check constraint), so only data changes.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Old code -> new code. Codes not named here are kept as they are.
UPGRADE: Mapping[str, str] = {"sexual_offence": "sexual_offence_unspecified"}
DOWNGRADE: Mapping[str, str] = {
    "child_sexual_abuse": "sexual_offence",
    "rape_sexual_assault": "sexual_offence",
    "other_sexual_offence": "sexual_offence",
    "sexual_offence_unspecified": "sexual_offence",
}

_referrals = sa.table("referrals", sa.column("offence_category", sa.String()))


def _recode(mapping: Mapping[str, str]) -> None:
    # One statement per code, no timestamps touched: a recoding is no change to the case.
    for old, new in mapping.items():
        op.execute(
            _referrals.update().where(_referrals.c.offence_category == old).values(offence_category=new)
        )


def upgrade() -> None:
    _recode(UPGRADE)


def downgrade() -> None:
    _recode(DOWNGRADE)
