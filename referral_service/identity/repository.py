"""SQL for the staff directory: organisation units, users and their roles.

Reads take a visibility filter built from the caller (`user_visibility`, `unit_visibility`), applied in
the same query that finds the record, so an invisible record is simply not found. `None` as the caller
means the system itself (CLI, demo seeding), which sees everything.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, delete, func, or_, true, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.models import OrgUnit, RoleAssignment, User
from referral_service.identity.principal import Principal
from referral_service.identity.roles import (
    GLOBAL_UNIT_DIRECTORY_ROLES,
    GLOBAL_USER_DIRECTORY_ROLES,
    Role,
)
from referral_service.identity.scope import UnitScope, path_in_subtree, unit_filter


def user_directory_scope(principal: Principal | None) -> UnitScope:
    if principal is None or principal.roles & GLOBAL_USER_DIRECTORY_ROLES:
        return UnitScope.GLOBAL
    return UnitScope.SUBTREE


def user_visibility(principal: Principal | None) -> ColumnElement[bool]:
    if principal is None:
        return true()
    return unit_filter(principal, user_directory_scope(principal), User.unit_id)


def unit_visibility(principal: Principal | None) -> ColumnElement[bool]:
    if principal is None or principal.roles & GLOBAL_UNIT_DIRECTORY_ROLES:
        return true()
    return path_in_subtree(principal, OrgUnit.path)


# Organisation units


async def get_unit(session: AsyncSession, unit_id: uuid.UUID, visible: ColumnElement[bool]) -> OrgUnit | None:
    result = await session.exec(select(OrgUnit).where(OrgUnit.id == unit_id, visible))
    return result.one_or_none()


async def get_unit_by_code(session: AsyncSession, code: str) -> OrgUnit | None:
    result = await session.exec(select(OrgUnit).where(OrgUnit.code == code))
    return result.one_or_none()


async def list_units(
    session: AsyncSession, visible: ColumnElement[bool], *, kind: str | None = None
) -> Sequence[OrgUnit]:
    stmt = select(OrgUnit).where(visible).order_by(col(OrgUnit.path))
    if kind is not None:
        stmt = stmt.where(OrgUnit.kind == kind)
    return (await session.exec(stmt)).all()


async def units_by_ids(session: AsyncSession, unit_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, OrgUnit]:
    ids = set(unit_ids)
    if not ids:
        return {}
    result = await session.exec(select(OrgUnit).where(col(OrgUnit.id).in_(ids)))
    return {unit.id: unit for unit in result.all()}


async def code_or_path_taken(session: AsyncSession, code: str, path: str) -> bool:
    stmt = (
        select(func.count())
        .select_from(OrgUnit)
        .where(or_(col(OrgUnit.code) == code, col(OrgUnit.path) == path))
    )
    return int((await session.exec(stmt)).one()) > 0


async def add(session: AsyncSession, *rows: OrgUnit | User | RoleAssignment) -> None:
    for row in rows:
        session.add(row)
    await session.flush()


# Users


async def get_user(session: AsyncSession, user_id: uuid.UUID, visible: ColumnElement[bool]) -> User | None:
    result = await session.exec(select(User).where(User.id == user_id, visible))
    return result.one_or_none()


async def get_user_by_username(session: AsyncSession, username: str) -> User | None:
    result = await session.exec(select(User).where(User.username == username))
    return result.one_or_none()


async def users_by_ids(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, User]:
    """Users by id in one query, whoever may see them: for the audit log, whose reader sees every actor."""
    ids = set(user_ids)
    if not ids:
        return {}
    result = await session.exec(select(User).where(col(User.id).in_(ids)))
    return {user.id: user for user in result.all()}


async def list_users(
    session: AsyncSession,
    visible: ColumnElement[bool],
    *,
    unit_id: uuid.UUID | None = None,
    active: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[User]:
    stmt = select(User).where(visible).order_by(col(User.username)).limit(limit).offset(offset)
    if unit_id is not None:
        stmt = stmt.where(User.unit_id == unit_id)
    if active is not None:
        stmt = stmt.where(User.active == active)
    return (await session.exec(stmt)).all()


async def count_users(session: AsyncSession) -> int:
    return int((await session.exec(select(func.count()).select_from(User))).one())


async def claim_totp_step(session: AsyncSession, user_id: uuid.UUID, step: int) -> bool:
    """Record `step` as used, only if it is later than the last used one. Atomic, so two logins
    racing with the same code cannot both succeed."""
    stmt = (
        update(User)
        .where(
            col(User.id) == user_id,
            or_(col(User.totp_last_step).is_(None), col(User.totp_last_step) < step),
        )
        .values(totp_last_step=step)
    )
    result = await session.exec(stmt)
    return bool(result.rowcount == 1)


# Roles


def known_roles(values: Iterable[str]) -> set[Role]:
    # A role value this code no longer knows grants nothing (fail closed).
    return {Role(value) for value in values if value in Role._value2member_map_}


async def roles_of(session: AsyncSession, user_id: uuid.UUID) -> set[Role]:
    return (await roles_of_many(session, [user_id])).get(user_id, set())


async def roles_of_many(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, set[Role]]:
    ids = set(user_ids)
    if not ids:
        return {}
    stmt = select(RoleAssignment.user_id, RoleAssignment.role).where(col(RoleAssignment.user_id).in_(ids))
    found: dict[uuid.UUID, list[str]] = {user_id: [] for user_id in ids}
    for user_id, role in (await session.exec(stmt)).all():
        found[user_id].append(role)
    return {user_id: known_roles(values) for user_id, values in found.items()}


async def add_role(session: AsyncSession, user_id: uuid.UUID, role: Role, now: dt.datetime) -> None:
    session.add(RoleAssignment(user_id=user_id, role=role.value, granted_at=now))
    await session.flush()


async def remove_role(session: AsyncSession, user_id: uuid.UUID, role: Role) -> None:
    stmt = delete(RoleAssignment).where(
        col(RoleAssignment.user_id) == user_id, col(RoleAssignment.role) == role.value
    )
    await session.exec(stmt)
