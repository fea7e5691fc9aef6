"""The scope helpers as SQL filters, on both engines, over the demo organisation tree."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.models import OrgUnit, User
from referral_service.identity.permissions import permissions_for
from referral_service.identity.principal import AuthMethod, Principal
from referral_service.identity.roles import Role
from referral_service.identity.scope import (
    UnitScope,
    in_own_unit,
    in_unit_subtree,
    in_units,
    path_in_subtree,
    unit_filter,
)
from tests.identity.support import DemoDirectory


def principal_in(directory: DemoDirectory, unit_code: str, role: Role = Role.POLICE_SUPERVISOR) -> Principal:
    unit = directory.unit(unit_code)
    return Principal(
        user_id=uuid.uuid4(),
        username="someone",
        unit_id=unit.id,
        unit_path=unit.path,
        unit_kind=unit.kind,
        roles=frozenset({role}),
        permissions=permissions_for({role}),
        auth_method=AuthMethod.TOKEN,
    )


async def unit_codes(engine: AsyncEngine, condition: object) -> set[str]:
    async with AsyncSession(engine) as session:
        return set((await session.exec(select(OrgUnit.code).where(condition))).all())  # type: ignore[arg-type]


async def usernames(engine: AsyncEngine, condition: object) -> set[str]:
    async with AsyncSession(engine) as session:
        return set((await session.exec(select(User.username).where(condition))).all())  # type: ignore[arg-type]


async def test_subtree_of_a_directorate(engine: AsyncEngine, demo_directory: DemoDirectory) -> None:
    principal = principal_in(demo_directory, "pd-dresden")
    expected = {"pd-dresden", "rev-dresden-nord", "rev-dresden-mitte", "rev-meissen"}
    assert await unit_codes(engine, path_in_subtree(principal, OrgUnit.path)) == expected
    assert await unit_codes(engine, in_unit_subtree(principal, OrgUnit.id)) == expected


async def test_subtree_of_a_station_is_the_station(
    engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    principal = principal_in(demo_directory, "rev-dresden-nord")
    assert await unit_codes(engine, in_unit_subtree(principal, OrgUnit.id)) == {"rev-dresden-nord"}
    assert await usernames(engine, in_unit_subtree(principal, User.unit_id)) == {
        "officer.dresden",
        "supervisor.dresden",
    }


async def test_own_unit(engine: AsyncEngine, demo_directory: DemoDirectory) -> None:
    principal = principal_in(demo_directory, "wr-dresden", Role.WR_BRANCH_LEAD)
    assert await usernames(engine, in_own_unit(principal, User.unit_id)) == {
        "volunteer.dresden",
        "branchlead.dresden",
    }


async def test_prefix_is_a_path_prefix_not_a_string_prefix(
    engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    # "/sn/wr-sn/" must not match a sibling whose code merely starts with "wr-sn" (paths end in "/").
    async with AsyncSession(engine) as session:
        state = demo_directory.unit("sn")
        session.add(
            OrgUnit(
                code="wr-snx", name="Sibling", kind="wr_state_office", parent_id=state.id, path="/sn/wr-snx/"
            )
        )
        await session.commit()
    principal = principal_in(demo_directory, "wr-sn", Role.WR_STATE_OFFICE)
    codes = await unit_codes(engine, path_in_subtree(principal, OrgUnit.path))
    assert "wr-snx" not in codes
    assert "wr-dresden" in codes


@pytest.mark.parametrize(
    ("scope", "expected_count"),
    [(UnitScope.GLOBAL, 31), (UnitScope.SUBTREE, 4), (UnitScope.OWN_UNIT, 1), (UnitScope.NONE, 0)],
)
async def test_unit_filter(
    engine: AsyncEngine, demo_directory: DemoDirectory, scope: UnitScope, expected_count: int
) -> None:
    principal = principal_in(demo_directory, "pd-dresden")
    assert len(await unit_codes(engine, unit_filter(principal, scope, OrgUnit.id))) == expected_count


async def test_in_units_with_no_units_matches_nothing(
    engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    assert await unit_codes(engine, in_units(OrgUnit.id, set())) == set()
    dresden = demo_directory.unit("pd-dresden").id
    assert await unit_codes(engine, in_units(col(OrgUnit.id), {dresden})) == {"pd-dresden"}
