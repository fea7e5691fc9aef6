"""The Saxon demo organisation: well-formed, idempotent, one user per role, routable postcodes."""

from __future__ import annotations

import itertools

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.models import AuditEvent
from referral_service.identity.config import IdentityConfig
from referral_service.identity.demo import (
    DEMO_USERS,
    SAXON_UNITS,
    SAXON_WR_BRANCH_POSTCODES,
    demo_logins,
    seed_demo,
)
from referral_service.identity.models import OrgUnit, User
from referral_service.identity.roles import TOTP_REQUIRED_ROLES, Role, UnitKind
from referral_service.settings import DEVELOPMENT_SECRET_KEY
from tests.identity.support import DemoDirectory


def test_there_is_a_demo_user_for_every_role() -> None:
    assert {user.role for user in DEMO_USERS} == set(Role)
    assert len({user.username for user in DEMO_USERS}) == len(DEMO_USERS)


def test_the_sample_has_the_five_saxon_directorates_with_stations() -> None:
    kinds = {code: kind for code, _, kind, _ in SAXON_UNITS}
    directorates = [code for code, kind in kinds.items() if kind is UnitKind.POLICE_DIRECTORATE]
    assert directorates == ["pd-chemnitz", "pd-dresden", "pd-goerlitz", "pd-leipzig", "pd-zwickau"]
    for directorate in directorates:
        stations = [code for code, _, kind, parent in SAXON_UNITS if parent == directorate]
        assert 2 <= len(stations) <= 3
        assert all(kinds[code] is UnitKind.POLICE_STATION for code in stations)


def test_branch_postcode_ranges_are_well_formed_and_do_not_overlap() -> None:
    branches = {code for code, _, kind, _ in SAXON_UNITS if kind is UnitKind.WR_BRANCH}
    assert set(SAXON_WR_BRANCH_POSTCODES) == branches
    ranges = sorted(
        (low, high, branch) for branch, pairs in SAXON_WR_BRANCH_POSTCODES.items() for low, high in pairs
    )
    for low, high, _ in ranges:
        assert len(low) == len(high) == 5
        assert low.isdigit()
        assert high.isdigit()
        assert low <= high
    for (_, previous_high, a), (next_low, _, b) in itertools.pairwise(ranges):
        assert previous_high < next_low, f"{a} and {b} overlap"


def test_demo_logins_are_stable_and_carry_totp_where_required() -> None:
    first, again = demo_logins(DEVELOPMENT_SECRET_KEY), demo_logins(DEVELOPMENT_SECRET_KEY)
    assert first == again
    for login in first:
        assert len(login.password) >= 12
        assert login.username not in login.password
        assert (login.totp_secret is not None) == (login.role in TOTP_REQUIRED_ROLES)
    assert demo_logins(b"another-secret-key-of-32-bytes!!") != first


async def test_seeding_is_idempotent_and_audited(
    engine: AsyncEngine, demo_directory: DemoDirectory, identity_config: IdentityConfig
) -> None:
    async with AsyncSession(engine) as session:
        result = await seed_demo(session, config=identity_config, secret=DEVELOPMENT_SECRET_KEY)
        await session.commit()
    assert (result.units_created, result.users_created) == (0, 0)
    async with engine.connect() as connection:
        units = (await connection.execute(select(func.count()).select_from(OrgUnit))).scalar_one()
        users = (await connection.execute(select(func.count()).select_from(User))).scalar_one()
        creations = (
            await connection.execute(
                select(AuditEvent.action, AuditEvent.actor_kind).where(
                    AuditEvent.action.in_(["identity:unit:create", "identity:user:create"])  # type: ignore[attr-defined]
                )
            )
        ).all()
    assert (units, users) == (len(SAXON_UNITS), len(DEMO_USERS))
    assert len(creations) == len(SAXON_UNITS) + len(DEMO_USERS)
    assert {kind for _, kind in creations} == {"system"}
    assert demo_directory.unit("rev-dresden-nord").path == "/sn/pd-dresden/rev-dresden-nord/"
    assert demo_directory.unit("wr-leipzig").path == "/sn/wr-sn/wr-leipzig/"
